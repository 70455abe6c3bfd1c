import { ConfigError } from '@mantle/cluster';
import { describe, expect, it } from 'vitest';
import { normaliseImage, parseImageUrl, sanitizeImageName } from './image.js';
import { dateLabel, gcTagsOf, labelDate, labelsOf } from './labels.js';
import { gceOptions } from './options.js';

const base = 'https://www.googleapis.com/compute/v1/';

describe('normaliseImage (mantle’s --gce-image rules)', () => {
  it('a short name is an image of the project', () => {
    expect(normaliseImage('kola-test-1', 'proj')).toBe(`${base}projects/proj/global/images/kola-test-1`);
  });
  it('projects/… gets the Compute base URL', () => {
    expect(normaliseImage('projects/kinvolk-public/global/images/family/flatcar-alpha', 'proj')).toBe(
      `${base}projects/kinvolk-public/global/images/family/flatcar-alpha`,
    );
  });
  it('a full URL stays as it is', () => {
    const url = `${base}projects/other/global/images/x-1`;
    expect(normaliseImage(url, 'proj')).toBe(url);
  });
  it('anything else is one line naming the flag', () => {
    for (const bad of ['Not_A_Name', 'http://example.com/x', 'global/images/x'])
      expect(() => normaliseImage(bad, 'p')).toThrow(ConfigError);
    expect(() => normaliseImage('global/images/x', 'p')).toThrow(
      /^--gce-image "global\/images\/x": not an image name/,
    );
  });
  it('parseImageUrl names the project and the image or family', () => {
    expect(parseImageUrl(`${base}projects/a/global/images/b`)).toEqual({ project: 'a', image: 'b' });
    expect(parseImageUrl(`${base}projects/a/global/images/family/f`)).toEqual({ project: 'a', family: 'f' });
  });
});

describe('sanitizeImageName (mantle’s gceSanitize, made always valid)', () => {
  const cases: Array<[string, string]> = [
    ['coreos/amd64-usr/1234.0.0+build', 'coreos-amd64-usr-1234-0-0-build'],
    ['Flatcar-dev', 'flatcar-dev'],
    ['1234.5.0', 'v1234-5-0'],
    ['-x', 'v-x'],
    ['a_b@c', 'a-b-c'],
    ['x'.repeat(80), 'x'.repeat(63)],
    [`${'y'.repeat(62)}.z`, 'y'.repeat(62)],
  ];
  for (const [input, output] of cases)
    it(`${input} → ${output}`, () => {
      expect(sanitizeImageName(input)).toBe(output);
      expect(sanitizeImageName(input)).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    });
});

describe('labels', () => {
  it('the run’s tags become valid labels, created-by=mantle always', () => {
    expect(
      labelsOf({ 'created-by': 'someone', 'kola-run': 'Kola-AB12', 'kola-test': 'cl.basic/ssh' }),
    ).toEqual({
      'created-by': 'mantle',
      'kola-run': 'kola-ab12',
      'kola-test': 'cl-basic-ssh',
    });
  });
  it('dates survive the label alphabet', () => {
    expect(dateLabel('2027-01-31T00:00:00.000Z')).toBe('2027-01-31t00-00-00z');
    expect(labelDate('2027-01-31t00-00-00z')).toBe('2027-01-31T00:00:00Z');
    expect(labelDate('soon')).toBe('soon');
  });
  it('gc sees metadata (mantle’s created-by) and labels, never user-data or ssh-keys', () => {
    expect(
      gcTagsOf({ 'expires-at': '2027-01-31t00-00-00z' }, [
        { key: 'created-by', value: 'mantle' },
        { key: 'user-data', value: '{…}' },
        { key: 'ssh-keys', value: 'core:ssh-ed25519 AAAA' },
      ]),
    ).toEqual({ 'created-by': 'mantle', 'expires-at': '2027-01-31T00:00:00Z' });
  });
});

describe('options', () => {
  it('defaults are mantle’s', () => {
    expect(gceOptions.parse({})).toMatchObject({
      zone: 'us-central1-a',
      machinetype: 'n1-standard-1',
      disktype: 'pd-ssd',
      network: 'default',
      basename: 'kola',
      diskSize: 12,
      serviceAuth: false,
    });
  });
  it('bad values are refused with the reason', () => {
    expect(gceOptions.safeParse({ zone: 'uscentral1' }).error?.issues[0]?.message).toBe(
      'must be a zone like us-central1-a',
    );
    expect(gceOptions.safeParse({ basename: 'Kola' }).success).toBe(false);
  });
});
