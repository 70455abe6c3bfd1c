import { describe, expect, it } from 'vitest';
import {
  azureAsyncHeaders,
  azureLocationReply,
  azureOperationStatus,
  createAzureOperation,
  createDigitalOceanAction,
  createGoogleOperation,
  createLongRunning,
  digitalOceanAction,
  googleZoneOperation,
} from './operations.js';

describe('createLongRunning', () => {
  it('completes on the Nth poll, once, moving through the middle states', () => {
    let done = 0;
    const op = createLongRunning({
      id: '1',
      states: ['queued', 'working', 'done'],
      completeAfter: { polls: 3 },
      onDone: () => done++,
    });
    expect(op.peek()).toBe('queued');
    expect([op.poll(), op.poll()]).toEqual(['working', 'working']);
    expect(op.finished).toBe(false);
    expect(op.progress()).toBe(66);
    expect(op.poll()).toBe('done');
    expect(op.poll()).toBe('done');
    expect(op.finished).toBe(true);
    expect(op.progress()).toBe(100);
    expect(done).toBe(1);
  });

  it('completes once its time has passed, whatever the polls', () => {
    let now = 1_000;
    const op = createLongRunning({ id: '1', states: ['a', 'b'], completeAfter: { ms: 500 }, now: () => now });
    expect(op.poll()).toBe('a');
    now += 499;
    expect(op.peek()).toBe('a');
    now += 1;
    expect(op.peek()).toBe('b');
    expect(op.finishedAt?.getTime()).toBe(1_500);
  });

  it('fails into its failed state with the error', () => {
    const op = createLongRunning({ id: '1', states: ['a', 'b'], failedState: 'x' as 'a' | 'b' | 'x' });
    op.fail({ code: 'QUOTA', message: 'no quota' });
    expect(op.poll()).toBe('x');
    expect(op.error).toEqual({ code: 'QUOTA', message: 'no quota' });
  });
});

describe('provider shapes of long-running operations', () => {
  it('Google zone operations go PENDING → RUNNING → DONE', () => {
    const op = createGoogleOperation({ id: '4242', completeAfter: { polls: 2 } });
    const target = {
      projectUrl: 'http://127.0.0.1:9/compute/v1/projects/p',
      zone: 'us-central1-a',
      operationType: 'insert',
      targetLink: 'http://127.0.0.1:9/compute/v1/projects/p/zones/us-central1-a/instances/vm',
    };
    const started = googleZoneOperation(op, target);
    expect(started).toMatchObject({ kind: 'compute#operation', id: '4242', status: 'PENDING', progress: 0 });
    expect(started.endTime).toBeUndefined();
    expect(googleZoneOperation(op, target, 'poll').status).toBe('RUNNING');
    const done = googleZoneOperation(op, target, 'poll');
    expect(done).toMatchObject({
      status: 'DONE',
      progress: 100,
      zone: `${target.projectUrl}/zones/us-central1-a`,
    });
    expect(done.endTime).toBeTypeOf('string');
    expect(String(done.selfLink)).toMatch(/\/zones\/us-central1-a\/operations\/operation-\d+-4242$/);
  });

  it('Azure polls answer InProgress then Succeeded, and Location answers 202 then the result', () => {
    expect(azureAsyncHeaders('http://h/op/1', 'http://h/loc/1')).toEqual({
      'Azure-AsyncOperation': 'http://h/op/1',
      Location: 'http://h/loc/1',
      'Retry-After': '1',
    });
    const op = createAzureOperation({ id: 'op-1', completeAfter: { polls: 2 } });
    expect(azureOperationStatus(op).body).toMatchObject({ name: 'op-1', status: 'InProgress' });
    expect(azureOperationStatus(op).body).toMatchObject({ status: 'Succeeded' });

    const deletion = createAzureOperation({ id: 'op-2', completeAfter: { polls: 2 } });
    expect(azureLocationReply(deletion, 'http://h/loc/2')).toEqual({
      status: 202,
      headers: { Location: 'http://h/loc/2', 'Retry-After': '1' },
    });
    expect(azureLocationReply(deletion, 'http://h/loc/2')).toEqual({ status: 204 });
  });

  it('DigitalOcean actions go in-progress → completed, with completed_at set then', () => {
    const op = createDigitalOceanAction({ id: '36804636', completeAfter: { polls: 1 } });
    const target = { type: 'create', resourceId: 3164444, resourceType: 'droplet', regionSlug: 'nyc3' };
    expect(digitalOceanAction(op, target)).toMatchObject({
      id: 36804636,
      status: 'in-progress',
      completed_at: null,
    });
    const done = digitalOceanAction(op, target, 'poll');
    expect(done).toMatchObject({ status: 'completed', resource_id: 3164444, region_slug: 'nyc3' });
    expect(done.completed_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
