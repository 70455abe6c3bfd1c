import { describe, expect, it } from 'vitest';
import { loadSpec } from './catalog.js';
import { specUnavailable } from './locate.js';

const unavailable = specUnavailable('azure');
if (unavailable) console.log(`skipping the Azure Swagger tests: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('the Azure Resource Manager Swagger validator', () => {
  const rgPath = '/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/kola-1';

  it('finds operations of every resource provider by id and by path', async () => {
    const spec = (await loadSpec('azure'))!;
    expect(spec.operation('ResourceGroups_CreateOrUpdate')?.pathTemplate).toBe(
      '/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}',
    );
    expect(spec.operation('VirtualMachines_CreateOrUpdate')?.method).toBe('PUT');
    expect(spec.operation('StorageAccounts_ListKeys')?.method).toBe('POST');
    expect(spec.operation('NetworkInterfaces_Delete')?.statuses).toContain('202');
    expect(spec.operationAt('GET', '/subscriptions/{s}/resourcegroups')?.operationId).toBe(
      'ResourceGroups_List',
    );
  });

  it('accepts a conforming request at a newer api-version and refuses a wrong one', async () => {
    const spec = (await loadSpec('azure'))!;
    const request = (query: string, body: unknown) => ({
      method: 'PUT',
      path: rgPath,
      query,
      headers: {},
      body,
    });
    expect(
      spec.validateRequest(
        'ResourceGroups_CreateOrUpdate',
        request('api-version=2025-04-01', { location: 'westus', tags: { a: 'b' } }),
      ),
    ).toEqual([]);
    expect(
      spec.validateRequest('ResourceGroups_CreateOrUpdate', request('', { location: 'westus' })),
    ).toEqual(['query parameter api-version is required']);
    const wrong = spec.validateRequest(
      'ResourceGroups_CreateOrUpdate',
      request('api-version=1', { tags: { a: 1 } }),
    );
    expect(wrong.join('\n')).toMatch(/location/);
    expect(wrong.join('\n')).toMatch(/tags\/a: must be string/);
  });

  it('checks responses against the declared status and schema, across files', async () => {
    const spec = (await loadSpec('azure'))!;
    const group = {
      id: rgPath,
      name: 'kola-1',
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westus',
      properties: { provisioningState: 'Succeeded' },
    };
    expect(spec.validateResponse('ResourceGroups_Get', { status: 200, headers: {}, body: group })).toEqual(
      [],
    );
    expect(
      spec.validateResponse('ResourceGroups_Get', {
        status: 200,
        headers: {},
        body: { ...group, location: 3 },
      }),
    ).toEqual(['/location: must be string']);
    // the error body is common-types' ErrorResponse, another file
    expect(
      spec.validateResponse('ResourceGroups_Get', {
        status: 404,
        headers: {},
        body: { error: { code: 'ResourceGroupNotFound', message: 'x' } },
      }),
    ).toEqual([]);
    const vm = {
      location: 'westus',
      properties: { hardwareProfile: { vmSize: 'Standard_D2s_v3' }, osProfile: { customData: 'aGk=' } },
    };
    expect(spec.validateResponse('VirtualMachines_Get', { status: 200, headers: {}, body: vm })).toEqual([]);
    expect(
      spec.validateResponse('VirtualMachines_Get', {
        status: 200,
        headers: {},
        body: { ...vm, properties: { osProfile: { customData: 7 } } },
      }),
    ).toEqual(['/properties/osProfile/customData: must be string']);
    // an error status falls to `default` (CloudError), which has a body
    expect(
      spec.validateResponse('VirtualMachines_Delete', { status: 418, headers: {}, body: undefined }),
    ).toEqual(['status default declares a body and none was sent']);
  });
});
