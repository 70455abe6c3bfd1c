import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatedCloud } from '../aws/emulator.js';
import type { FaultOptions } from '../faults/faults.js';
import { createFakeApi, type FakeApi } from '../http/fake-api.js';
import { azureShape } from '../http/providers.js';
import { type Route, reply, route } from '../http/routes.js';
import type { Violation } from '../http/violations.js';
import { type BackendMachine, createMachineBackend, type MachineBackend } from '../machines/backend.js';
import { type AadApplication, aadRoutes } from './aad.js';
import { type ArmResource, ArmState, type ArmTiming, armError, armRoutes, kindRoutes } from './arm.js';
import { type Azurite, devStoreAccount, type StorageAccountKey, startAzurite } from './azurite.js';
import { createTestCertificate, type TestCertificate } from './certificate.js';
import { registerKinds } from './kinds.js';

export interface AzureEmulatorSettings {
  machines: 'qemu' | 'ssh' | 'none';
  flavor?: 'minimal' | 'systemd';
  port?: number;
  faults?: FaultOptions;
  log?: (line: string) => void;
  timing?: Partial<ArmTiming>;
  /** Storage accounts azurite serves besides its development account (ore's `--storage-account`). */
  storageAccounts?: readonly string[];
  /** Without azurite (ARM only): for tests that touch no blob. */
  blobs?: boolean;
}

export interface AzureEmulator extends EmulatedCloud {
  readonly name: 'azure';
  /** `https://127.0.0.1:N`: Resource Manager and the token endpoint (authority host) alike. */
  endpoint: string;
  /** The test certificate the endpoint serves: trust it with NODE_EXTRA_CA_CERTS=certificate.certFile. */
  certificate: TestCertificate;
  subscriptionId: string;
  app: AadApplication;
  azurite: Azurite | undefined;
  /** Keys of the storage accounts azurite serves (listKeys answers these). */
  storageKeys: readonly StorageAccountKey[];
  /** `http://127.0.0.1:N/{account}`: --azure-blob-endpoint for azurite. */
  blobEndpoint: string;
  state: ArmState;
  api: FakeApi;
  backend: MachineBackend;
  violations(): readonly Violation[];
  takeViolations(): Violation[];
  /** The machine of a VM (by resource id), once it started. */
  machine(vmId: string): BackendMachine | undefined;
  /** Writes an auth file (mantle's credentials.json) for this emulator and returns its path. */
  writeAuthFile(dir: string): Promise<string>;
}

/**
 * Azure on 127.0.0.1: an emulated Resource Manager (resource groups, storage accounts, vnets, public
 * IPs, NICs, images, disks, VMs) over HTTPS with a test certificate, validated against Microsoft's
 * Swagger at the nearest api-version (see specs/swagger.ts); a token endpoint for @azure/identity on
 * the same origin; azurite for blobs. VMs are machines of the chosen backend.
 */
export async function startAzureEmulator(settings: AzureEmulatorSettings): Promise<AzureEmulator> {
  const log = settings.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const subscriptionId = randomUUID();
  const app: AadApplication = {
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: randomBytes(24).toString('base64url'),
  };
  const issued = new Set<string>();
  const machines = new Map<string, BackendMachine>();
  const consoleTokens = new Map<string, string>();
  const backend = createMachineBackend(settings.machines);
  const stopping = new AbortController();
  const state = new ArmState({
    subscriptionId,
    timing: { operationPolls: 2, retryAfterSeconds: 0, groupsPerPage: 100, ...settings.timing },
    log,
  });
  const storageKeys: StorageAccountKey[] = [
    devStoreAccount,
    ...(settings.storageAccounts ?? ['kola']).map((name) => ({
      name,
      key: randomBytes(64).toString('base64'),
    })),
  ];
  let nextHost = 0;
  registerKinds(state, {
    async created(vm) {
      const nicId = (vm.properties.networkProfile as { networkInterfaces: { id: string }[] })
        .networkInterfaces[0]!.id;
      const nic = state.find(nicId);
      const config = (
        nic?.properties.ipConfigurations as { properties: Record<string, unknown> }[] | undefined
      )?.[0];
      const privateIp = String(config?.properties.privateIPAddress ?? '10.0.0.4');
      const machine = await backend.start({
        instanceId: String(vm.properties.vmId),
        provider: 'azure',
        metadata: azureMetadataHandler(vm, privateIp),
        network: `vnet-${vm.group}`,
        privateIp,
        ...(settings.flavor ? { flavor: settings.flavor } : {}),
        signal: stopping.signal,
      });
      machines.set(vm.id.toLowerCase(), machine);
      // the public IP answers where the machine's SSH does
      const publicId = (config?.properties.publicIPAddress as { id?: string } | undefined)?.id;
      const publicIp = publicId ? state.find(publicId) : undefined;
      if (publicIp) publicIp.properties.ipAddress = machine.sshHost;
      log(
        `azure: VM ${vm.name} is a ${backend.kind} machine at ${machine.sshHost}:${machine.sshPort} (${nextHost++})`,
      );
    },
    async deleted(vm) {
      const machine = machines.get(vm.id.toLowerCase());
      machines.delete(vm.id.toLowerCase());
      consoleTokens.delete(vm.id.toLowerCase());
      await machine?.terminate();
    },
  });

  const vmPath =
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/virtualMachines/{vmName}';
  const findVm = (params: Record<string, string>): ArmResource => {
    state.requireSubscription(params.subscriptionId!);
    const id = state.resourceId(
      params.resourceGroupName!,
      'Microsoft.Compute/virtualMachines',
      params.vmName!,
    );
    const vm = state.find(id);
    if (!vm)
      throw armError(
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Compute/virtualMachines/${params.vmName}' was not found.`,
      );
    return vm;
  };
  let origin = '';
  const consoleUrl = (vm: ArmResource) => {
    let token = consoleTokens.get(vm.id.toLowerCase());
    if (!token) {
      token = randomBytes(16).toString('hex');
      consoleTokens.set(vm.id.toLowerCase(), token);
    }
    return `${origin}/bootdiagnostics/${vm.properties.vmId}/${vm.name}.serialconsole.log?sig=${token}`;
  };
  const extraRoutes: Route[] = [
    route(`GET`, `${vmPath}/instanceView`, (ctx) => {
      const vm = findVm(ctx.params);
      const machine = machines.get(vm.id.toLowerCase());
      const power = machine
        ? `PowerState/${machine.state === 'running' ? 'running' : 'stopped'}`
        : 'PowerState/starting';
      return reply(200, {
        computerName: vm.name,
        osName: 'Linux',
        statuses: [
          {
            code: `ProvisioningState/${String(vm.properties.provisioningState).toLowerCase()}`,
            level: 'Info',
          },
          { code: power, level: 'Info' },
        ],
        bootDiagnostics: { serialConsoleLogBlobUri: consoleUrl(vm) },
      });
    }),
    route('POST', `${vmPath}/retrieveBootDiagnosticsData`, (ctx) => {
      const vm = findVm(ctx.params);
      return reply(200, {
        serialConsoleLogBlobUri: consoleUrl(vm),
        consoleScreenshotBlobUri: `${consoleUrl(vm)}&screenshot=1`,
      });
    }),
    route(
      'GET',
      '/bootdiagnostics/{vmId}/{file}',
      (ctx) => {
        const vm = [...state.resources.values()].find((r) => r.properties.vmId === ctx.params.vmId);
        if (!vm || consoleTokens.get(vm.id.toLowerCase()) !== ctx.query.get('sig'))
          return reply(404, 'The specified blob does not exist.');
        return reply(200, machines.get(vm.id.toLowerCase())?.consoleOutput() ?? '');
      },
      { outsideSpec: true, operationId: 'blob.bootDiagnostics' },
    ),
    route(
      'POST',
      '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Storage/storageAccounts/{accountName}/listKeys',
      (ctx) => {
        state.requireSubscription(ctx.params.subscriptionId);
        const id = state.resourceId(
          ctx.params.resourceGroupName,
          'Microsoft.Storage/storageAccounts',
          ctx.params.accountName,
        );
        if (!state.find(id))
          throw armError(
            404,
            'ResourceNotFound',
            `The storage account ${ctx.params.accountName} was not found.`,
          );
        const known = storageKeys.find((k) => k.name === ctx.params.accountName);
        const key1 = known?.key ?? randomBytes(64).toString('base64');
        return reply(200, {
          keys: [
            { keyName: 'key1', value: key1, permissions: 'Full' },
            { keyName: 'key2', value: randomBytes(64).toString('base64'), permissions: 'Full' },
          ],
        });
      },
    ),
    route(
      'GET',
      '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}',
      (ctx) => {
        const vnet = state.find(
          state.resourceId(
            ctx.params.resourceGroupName,
            'Microsoft.Network/virtualNetworks',
            ctx.params.virtualNetworkName,
          ),
        );
        const subnet = ((vnet?.properties.subnets ?? []) as { name: string }[]).find(
          (s) => s.name.toLowerCase() === ctx.params.subnetName.toLowerCase(),
        );
        if (!subnet) throw armError(404, 'NotFound', `Subnet ${ctx.params.subnetName} was not found.`);
        return reply(200, subnet);
      },
    ),
  ];
  const routes = [...aadRoutes(app, issued), ...armRoutes(state), ...extraRoutes, ...registerRoutes(state)];

  let certificate: TestCertificate | undefined;
  let azurite: Azurite | undefined;
  let api: FakeApi | undefined;
  try {
    certificate = await createTestCertificate();
    if (settings.blobs !== false) azurite = await startAzurite({ accounts: storageKeys, log });
    api = await createFakeApi({
      name: 'azure',
      spec: 'azure',
      provider: azureShape(),
      tls: { key: certificate.key, cert: certificate.cert },
      routes,
      authenticate: (request) => {
        if (request.operationId.startsWith('aad.') || request.operationId.startsWith('blob.'))
          return undefined;
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        if (token && issued.has(token)) return undefined;
        return {
          status: 401,
          headers: {
            'WWW-Authenticate': `Bearer authorization_uri="${origin}/${app.tenantId}", error="invalid_token"`,
          },
          body: {
            error: {
              code: token ? 'InvalidAuthenticationToken' : 'AuthenticationFailed',
              message: token
                ? 'The access token is invalid.'
                : "Authentication failed. The 'Authorization' header is missing.",
            },
          },
        };
      },
      ...(settings.faults ? { faults: settings.faults } : {}),
      ...(settings.port ? { port: settings.port } : {}),
      log,
    });
  } catch (e) {
    await api?.close();
    await azurite?.close();
    await certificate?.remove();
    throw e;
  }
  origin = api.origin;
  const started = { api, certificate };
  const blobEndpoint = azurite ? `${azurite.origin}/{account}` : 'http://127.0.0.1:9/{account}';
  let stopped: Promise<void> | undefined;
  const endpoint = api.origin;
  // kola and ore take the same flags (kola's add the platform)
  const flags = [
    '--azure-endpoint',
    endpoint,
    '--azure-authority-host',
    endpoint,
    '--azure-blob-endpoint',
    blobEndpoint,
    '--azure-poll-interval',
    '20ms',
  ];
  return {
    name: 'azure',
    endpoint,
    certificate,
    subscriptionId,
    app,
    azurite,
    storageKeys,
    blobEndpoint,
    state,
    api,
    backend,
    violations: () => started.api.violations(),
    takeViolations: () => started.api.takeViolations(),
    machine: (id) => machines.get(id.toLowerCase()),
    async writeAuthFile(dir) {
      const { writeFile } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const file = join(dir, 'azure-credentials.json');
      await writeFile(
        file,
        JSON.stringify({
          clientId: app.clientId,
          clientSecret: app.clientSecret,
          subscriptionId,
          tenantId: app.tenantId,
          activeDirectoryEndpointUrl: endpoint,
          resourceManagerEndpointUrl: endpoint,
          activeDirectoryGraphResourceId: 'https://graph.windows.net/',
          managementEndpointUrl: endpoint,
        }),
        { mode: 0o600 },
      );
      return file;
    },
    env: {
      AZURE_TENANT_ID: app.tenantId,
      AZURE_CLIENT_ID: app.clientId,
      AZURE_CLIENT_SECRET: app.clientSecret,
      AZURE_SUBSCRIPTION_ID: subscriptionId,
      AZURE_AUTHORITY_HOST: endpoint,
      NODE_EXTRA_CA_CERTS: certificate.certFile,
    },
    kola: ['-p', 'azure', ...flags],
    ore: flags,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await Promise.allSettled([...machines.values()].map((m) => m.terminate()));
        await backend.dispose();
        await started.api.close();
        await azurite?.close();
        await started.certificate.remove();
      })();
      return stopped;
    },
  };
}

function registerRoutes(state: ArmState): Route[] {
  const routes: Route[] = [];
  for (const type of [
    'Microsoft.Storage/storageAccounts',
    'Microsoft.Network/virtualNetworks',
    'Microsoft.Network/publicIPAddresses',
    'Microsoft.Network/networkInterfaces',
    'Microsoft.Compute/images',
    'Microsoft.Compute/disks',
    'Microsoft.Compute/virtualMachines',
  ])
    routes.push(...kindRoutes(state, state.kind(type)!));
  return routes;
}

/**
 * Azure's instance metadata service as far as a guest asks it (IMDS compute and userData); Ignition's
 * azure provider reads custom data from the provisioning CD instead, which the qemu backend does not
 * make yet.
 */
function azureMetadataHandler(vm: ArmResource, privateIp: string) {
  return (req: { path: string }) => {
    const path = req.path.split('?')[0];
    if (path === '/metadata/instance/compute/userData')
      return { status: 200, body: String(vm.secret.customData ?? '') };
    if (path === '/metadata/instance')
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          compute: {
            name: vm.name,
            location: vm.location,
            vmId: vm.properties.vmId,
            resourceGroupName: vm.group,
          },
          network: { interface: [{ ipv4: { ipAddress: [{ privateIpAddress: privateIp }] } }] },
        }),
      };
    return { status: 404, body: 'Not found' };
  };
}
