// Test-only SSH routing for the aws platform against moto (plain JS so a real kola process can load
// it through KOLA_TEST_DIALER of test/support/kola.mjs). moto starts no machines: each instance's public IP is routed
// to an in-process mock SSH server started on first dial, which accepts exactly the keys the instance
// would: its EC2 key pair's public key and the keys in its userdata, both read back from moto.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateHostKey, startMockSshServer } from '@mantle/cluster/testing';

const bootIdCommand = 'cat /proc/sys/kernel/random/boot_id';
const keyPattern = /(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521))\s+AAAA[A-Za-z0-9+/]+=*/g;

/** One EC2 query-API call to moto (no SDK: this file runs inside kola too); returns the XML. */
export async function ec2Query(target, params) {
  const { endpoint, region = 'us-west-2', accessKeyId = 'AKIAMOTOTESTKEY00000' } = target;
  const r = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: new URLSearchParams({ Version: '2016-11-15', ...params }).toString(),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`moto ${params.Action}: ${r.status} ${text.slice(0, 300)}`);
  return text;
}

const first = (xml, tag) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

function refused(host) {
  const e = new Error(`connect ECONNREFUSED ${host}:22 (no running instance has that address)`);
  e.code = 'ECONNREFUSED';
  return e;
}

export function createSshRouter(target) {
  const user = target.user ?? 'core';
  /** instanceId → { bootId, hostKey, home, keys, reboots, server?: Promise<MockSshServer> } */
  const machines = new Map();
  let dials = 0;
  let closed = false;

  async function runningInstanceAt(ip) {
    const xml = await ec2Query(target, {
      Action: 'DescribeInstances',
      'Filter.1.Name': 'ip-address',
      'Filter.1.Value.1': ip,
      'Filter.2.Name': 'instance-state-name',
      'Filter.2.Value.1': 'running',
    });
    const instanceId = first(xml, 'instanceId');
    return instanceId ? { instanceId, keyName: first(xml, 'keyName') } : undefined;
  }

  async function keysOf(instance) {
    const keys = [];
    if (instance.keyName) {
      const xml = await ec2Query(target, {
        Action: 'DescribeKeyPairs',
        'KeyName.1': instance.keyName,
        IncludePublicKey: 'true',
      });
      const publicKey = first(xml, 'publicKey');
      if (publicKey) keys.push(publicKey.trim());
    }
    const attr = await ec2Query(target, {
      Action: 'DescribeInstanceAttribute',
      InstanceId: instance.instanceId,
      Attribute: 'userData',
    });
    const encoded = /<userData>\s*<value>([^<]*)<\/value>/.exec(attr)?.[1];
    if (encoded) keys.push(...(Buffer.from(encoded, 'base64').toString('utf8').match(keyPattern) ?? []));
    return [...new Set(keys.map((k) => k.trim()))];
  }

  async function startServer(state) {
    return startMockSshServer({
      authorizedKeys: state.keys,
      user,
      hostKey: state.hostKey,
      cwd: state.home,
      handleExec: (command, channel) => {
        if (command.trim() === bootIdCommand) {
          channel.write(`${state.bootId}\n`);
          channel.exit(0);
          channel.end();
          return true;
        }
        if (/\breboot\b/.test(command)) {
          // the machine goes down: a new boot id, and every connection drops
          state.bootId = randomUUID();
          state.reboots++;
          const server = state.server;
          state.server = undefined;
          channel.exit(0);
          channel.end();
          setTimeout(() => void server?.then((s) => s.close()), 50);
          return true;
        }
        return false;
      },
    });
  }

  async function serverFor(ip) {
    const instance = await runningInstanceAt(ip);
    if (!instance) throw refused(ip);
    let state = machines.get(instance.instanceId);
    if (!state) {
      state = {
        bootId: randomUUID(),
        hostKey: generateHostKey(),
        home: mkdtempSync(join(tmpdir(), 'kola-aws-router-')),
        keys: await keysOf(instance),
        reboots: 0,
        server: undefined,
      };
      machines.set(instance.instanceId, state);
    }
    state.server ??= startServer(state);
    return state.server;
  }

  /** A Dialer (see @mantle/cluster ssh.ts) routing `<public ip>:22` to the instance's mock server. */
  const dialer = async (endpoint, signal) => {
    signal.throwIfAborted();
    if (closed) throw refused(endpoint.host);
    dials++;
    const server = await serverFor(endpoint.host);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: server.host, port: server.port });
      const onAbort = () => {
        socket.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        socket.setNoDelay(true);
        resolve(socket);
      });
      socket.once('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      });
    });
  };

  return {
    dialer,
    dials: () => dials,
    /** What the router knows of an instance it served: accepted keys and reboots seen. */
    machine: (instanceId) => {
      const s = machines.get(instanceId);
      return s ? { keys: [...s.keys], reboots: s.reboots, bootId: s.bootId } : undefined;
    },
    async close() {
      closed = true;
      for (const state of machines.values()) {
        await state.server?.then((s) => s.close()).catch(() => {});
        rmSync(state.home, { recursive: true, force: true });
      }
      machines.clear();
    },
  };
}
