import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { coerceOptionValue, describeOptions, kebabCase, resolveOptions } from './options.js';
import { redact } from './redact.js';

const schema = z.object({
  region: z
    .string()
    .default('us-east-1')
    .describe('AWS region to launch in')
    .meta({ env: 'AWS_REGION', aliases: ['--region'], valueName: 'REGION' }),
  instanceType: z.enum(['t3.small', 't3.large']).default('t3.small').describe('Instance type'),
  diskSizeGb: z.number().int().positive().optional().describe('Root disk size').meta({ env: 'KOLA_DISK_GB' }),
  publicIp: z
    .boolean()
    .default(true)
    .describe('Give machines a public address')
    .meta({ env: 'KOLA_PUBLIC_IP' }),
  securityGroups: z.array(z.string()).default([]).describe('Extra security groups').meta({ env: 'KOLA_SGS' }),
  secretKey: z.string().optional().describe('API secret').meta({ env: 'KOLA_SECRET', secret: true }),
  // metadata on the inner schema, default outside
  amiId: z.string().describe('AMI to boot').meta({ env: 'KOLA_AMI', valueName: 'ID' }).default('ami-default'),
});

describe('describeOptions', () => {
  const specs = describeOptions('aws', schema);
  const spec = (key: string) => {
    const s = specs.find((x) => x.key === key);
    if (!s) throw new Error(`no spec ${key}`);
    return s;
  };

  it('lists every key in order with kebab-case flags', () => {
    expect(specs.map((s) => s.flag)).toEqual([
      '--aws-region',
      '--aws-instance-type',
      '--aws-disk-size-gb',
      '--aws-public-ip',
      '--aws-security-groups',
      '--aws-secret-key',
      '--aws-ami-id',
    ]);
    expect(kebabCase('hostKeyChangeOnReboot')).toBe('host-key-change-on-reboot');
  });

  it('reads kinds, defaults, choices, env, aliases, secrets and value names', () => {
    expect(spec('region')).toEqual({
      key: 'region',
      flag: '--aws-region',
      kind: 'string',
      description: 'AWS region to launch in',
      defaultValue: 'us-east-1',
      env: 'AWS_REGION',
      aliases: ['--region'],
      secret: false,
      valueName: 'REGION',
      location: false,
    });
    expect(spec('instanceType')).toMatchObject({
      kind: 'enum',
      choices: ['t3.small', 't3.large'],
      defaultValue: 't3.small',
    });
    expect(spec('diskSizeGb')).toMatchObject({ kind: 'number', valueName: 'N', env: 'KOLA_DISK_GB' });
    expect(spec('diskSizeGb').defaultValue).toBeUndefined();
    expect(spec('publicIp')).toMatchObject({ kind: 'boolean', defaultValue: true });
    expect(spec('securityGroups')).toMatchObject({ kind: 'string[]', defaultValue: [] });
    expect(spec('secretKey')).toMatchObject({ secret: true, env: 'KOLA_SECRET' });
    expect(spec('amiId')).toMatchObject({
      description: 'AMI to boot',
      env: 'KOLA_AMI',
      valueName: 'ID',
      defaultValue: 'ami-default',
    });
    expect(spec('instanceType').env).toBeUndefined();
  });
});

describe('resolveOptions', () => {
  it('uses defaults when nothing is given', () => {
    expect(resolveOptions('aws', schema, { env: {} })).toEqual({
      region: 'us-east-1',
      instanceType: 't3.small',
      publicIp: true,
      securityGroups: [],
      amiId: 'ami-default',
    });
  });

  it('prefers flags over env over defaults, coercing env strings', () => {
    const env = {
      AWS_REGION: 'eu-west-1',
      KOLA_DISK_GB: '20',
      KOLA_PUBLIC_IP: 'false',
      KOLA_SGS: 'sg-1, sg-2,',
    };
    const fromEnv = resolveOptions('aws', schema, { env });
    expect(fromEnv).toMatchObject({
      region: 'eu-west-1',
      diskSizeGb: 20,
      publicIp: false,
      securityGroups: ['sg-1', 'sg-2'],
    });
    const fromFlags = resolveOptions('aws', schema, {
      env,
      flags: { region: 'ap-south-1', diskSizeGb: '30', publicIp: true, securityGroups: ['sg-9'] },
    });
    expect(fromFlags).toMatchObject({
      region: 'ap-south-1',
      diskSizeGb: 30,
      publicIp: true,
      securityGroups: ['sg-9'],
    });
  });

  it('ignores empty environment variables', () => {
    expect(resolveOptions('aws', schema, { env: { AWS_REGION: '' } }).region).toBe('us-east-1');
  });

  it('names the environment variable of a bad value', () => {
    expect(() => resolveOptions('aws', schema, { env: { KOLA_DISK_GB: 'big' } })).toThrow(ConfigError);
    expect(() => resolveOptions('aws', schema, { env: { KOLA_DISK_GB: 'big' } })).toThrow(
      /^\$KOLA_DISK_GB: "big" is not a number$/,
    );
    expect(() => resolveOptions('aws', schema, { env: { KOLA_DISK_GB: '-3' } })).toThrow(/^\$KOLA_DISK_GB: /);
    expect(() => resolveOptions('aws', schema, { env: { KOLA_PUBLIC_IP: 'maybe' } })).toThrow(
      /^\$KOLA_PUBLIC_IP: "maybe" is not a boolean/,
    );
  });

  it('names the flag of a bad value', () => {
    expect(() => resolveOptions('aws', schema, { env: {}, flags: { instanceType: 'm5.huge' } })).toThrow(
      /^--aws-instance-type: /,
    );
    expect(() =>
      resolveOptions('aws', schema, { env: { KOLA_DISK_GB: '5' }, flags: { diskSizeGb: '1.5' } }),
    ).toThrow(/^--aws-disk-size-gb: /);
    expect(() => resolveOptions('aws', schema, { env: {}, flags: { diskSizeGb: '' } })).toThrow(
      /--aws-disk-size-gb: "" is not a number/,
    );
  });

  it('registers the value of every secret option, so redact() hides it', () => {
    const fromEnv = 'env-secret-9c1f2a';
    const fromFlag = 'flag-secret-4b7e0d';
    const notSecret = 'ami-plain-55e1c3';
    resolveOptions('aws', schema, { env: { KOLA_SECRET: fromEnv, KOLA_AMI: notSecret } });
    resolveOptions('aws', schema, {
      env: { KOLA_SECRET: 'ignored-env-value' },
      flags: { secretKey: fromFlag },
    });
    expect(redact(`key ${fromEnv} and ${fromFlag}, ami ${notSecret}`)).toBe(
      `key [REDACTED] and [REDACTED], ami ${notSecret}`,
    );
    // the environment's value was not the one used, so it was not read as a secret
    expect(redact('ignored-env-value')).toBe('ignored-env-value');
  });

  it('registers a secret value before a coercion error can quote it', () => {
    const pinSchema = z.object({ pin: z.number().optional().meta({ env: 'KOLA_PIN', secret: true }) });
    let message = '';
    try {
      resolveOptions('aws', pinSchema, { env: { KOLA_PIN: 'not-a-pin-7731' } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe('$KOLA_PIN: "not-a-pin-7731" is not a number');
    expect(redact(message)).toBe('$KOLA_PIN: "[REDACTED]" is not a number');
  });

  it('coerceOptionValue passes typed values through', () => {
    const spec = describeOptions('aws', schema).find((s) => s.key === 'publicIp')!;
    expect(coerceOptionValue(spec, false, '--aws-public-ip')).toBe(false);
    expect(coerceOptionValue(spec, 'YES', '--aws-public-ip')).toBe(true);
    expect(coerceOptionValue(spec, '0', '--aws-public-ip')).toBe(false);
  });
});
