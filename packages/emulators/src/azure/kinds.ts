import { randomUUID } from 'node:crypto';
import {
  type ArmResource,
  type ArmState,
  armError,
  type ResourceKind,
  requireReference,
  shortHex,
} from './arm.js';

const rg = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers';

/** What the VM kind tells the emulator, which owns the machines. */
export interface VmHooks {
  /** A VM finished creating: start its machine. */
  created?(vm: ArmResource): void | Promise<void>;
  /** A VM is gone: end its machine. */
  deleted?(vm: ArmResource): void | Promise<void>;
}

/** The resource kinds the fake serves, registered on `state`. */
export function registerKinds(state: ArmState, hooks: VmHooks = {}): ResourceKind[] {
  let nextPrivate = 4;
  let nextPublic = 10;
  const kinds: ResourceKind[] = [
    {
      type: 'Microsoft.Storage/storageAccounts',
      path: `${rg}/Microsoft.Storage/storageAccounts/{accountName}`,
      operations: {
        put: 'StorageAccounts_Create',
        get: 'StorageAccounts_GetProperties',
        delete: 'StorageAccounts_Delete',
        listAll: 'StorageAccounts_List',
      },
      create: 'location',
      build(resource) {
        if (!/^[a-z0-9]{3,24}$/.test(resource.name))
          throw armError(400, 'AccountNameInvalid', `${resource.name} is not a valid storage account name.`);
        resource.properties.primaryEndpoints = { blob: `https://${resource.name}.blob.core.windows.net/` };
      },
    },
    {
      type: 'Microsoft.Network/virtualNetworks',
      path: `${rg}/Microsoft.Network/virtualNetworks/{virtualNetworkName}`,
      operations: {
        put: 'VirtualNetworks_CreateOrUpdate',
        get: 'VirtualNetworks_Get',
        delete: 'VirtualNetworks_Delete',
      },
      build(resource) {
        const subnets = (resource.properties.subnets ?? []) as {
          name?: string;
          properties?: Record<string, unknown>;
        }[];
        resource.properties.subnets = subnets.map((s) => ({
          ...s,
          id: `${resource.id}/subnets/${s.name}`,
          properties: { ...s.properties, provisioningState: 'Succeeded' },
        }));
      },
    },
    {
      type: 'Microsoft.Network/publicIPAddresses',
      path: `${rg}/Microsoft.Network/publicIPAddresses/{publicIpAddressName}`,
      operations: {
        put: 'PublicIPAddresses_CreateOrUpdate',
        get: 'PublicIPAddresses_Get',
        delete: 'PublicIPAddresses_Delete',
      },
      build(resource, _body, existing) {
        // 203.0.113.0/24 (TEST-NET-3) until a machine gives it its reachable address
        resource.properties.ipAddress = existing?.properties.ipAddress ?? `203.0.113.${nextPublic++ % 250}`;
      },
    },
    {
      type: 'Microsoft.Network/networkInterfaces',
      path: `${rg}/Microsoft.Network/networkInterfaces/{networkInterfaceName}`,
      operations: {
        put: 'NetworkInterfaces_CreateOrUpdate',
        get: 'NetworkInterfaces_Get',
        delete: 'NetworkInterfaces_Delete',
      },
      build(resource, _body, existing) {
        const configs = (resource.properties.ipConfigurations ?? []) as {
          name?: string;
          properties?: Record<string, unknown>;
        }[];
        if (configs.length === 0)
          throw armError(400, 'InvalidRequestFormat', 'a NIC needs an ipConfiguration');
        const previous = existing?.properties.ipConfigurations as
          | { properties?: { privateIPAddress?: string } }[]
          | undefined;
        resource.properties.ipConfigurations = configs.map((c, i) => {
          const props = c.properties ?? {};
          requireReference(state, (props.subnet as { id?: string } | undefined)?.id, 'subnet');
          const publicId = (props.publicIPAddress as { id?: string } | undefined)?.id;
          if (publicId !== undefined) requireReference(state, publicId, 'publicIPAddress');
          return {
            ...c,
            id: `${resource.id}/ipConfigurations/${c.name}`,
            properties: {
              ...props,
              privateIPAddress:
                previous?.[i]?.properties?.privateIPAddress ?? `10.0.0.${nextPrivate++ % 250}`,
              privateIPAllocationMethod: props.privateIPAllocationMethod ?? 'Dynamic',
              provisioningState: 'Succeeded',
            },
          };
        });
      },
    },
    {
      type: 'Microsoft.Compute/images',
      path: `${rg}/Microsoft.Compute/images/{imageName}`,
      operations: {
        put: 'Images_CreateOrUpdate',
        get: 'Images_Get',
        delete: 'Images_Delete',
        listByGroup: 'Images_ListByResourceGroup',
        listAll: 'Images_List',
      },
      build(resource) {
        const os = (
          resource.properties.storageProfile as { osDisk?: { blobUri?: string; osType?: string } } | undefined
        )?.osDisk;
        if (!os?.blobUri)
          throw armError(400, 'InvalidParameter', 'storageProfile.osDisk.blobUri is required');
        if (!/\.vhd$/i.test(new URL(os.blobUri).pathname))
          throw armError(400, 'InvalidParameter', `blobUri ${os.blobUri} is not a VHD blob`);
      },
    },
    {
      type: 'Microsoft.Compute/disks',
      path: `${rg}/Microsoft.Compute/disks/{diskName}`,
      operations: { put: 'Disks_CreateOrUpdate', get: 'Disks_Get', delete: 'Disks_Delete' },
    },
    {
      type: 'Microsoft.Compute/virtualMachines',
      path: `${rg}/Microsoft.Compute/virtualMachines/{vmName}`,
      operations: {
        put: 'VirtualMachines_CreateOrUpdate',
        get: 'VirtualMachines_Get',
        delete: 'VirtualMachines_Delete',
        listByGroup: 'VirtualMachines_List',
      },
      build(resource, _body, existing) {
        if (existing) throw armError(409, 'OperationNotAllowed', 'the fake does not update VMs');
        const p = resource.properties as {
          storageProfile?: { imageReference?: { id?: string }; osDisk?: Record<string, unknown> };
          osProfile?: { customData?: string; adminUsername?: string };
          networkProfile?: { networkInterfaces?: { id?: string }[] };
        };
        const nics = p.networkProfile?.networkInterfaces ?? [];
        if (nics.length === 0)
          throw armError(400, 'InvalidParameter', 'networkProfile.networkInterfaces is required');
        for (const nic of nics) requireReference(state, nic.id, 'networkInterface');
        const imageId = p.storageProfile?.imageReference?.id;
        if (imageId !== undefined) requireReference(state, imageId, 'imageReference');
        // customData is write-only: kept for the guest, never answered
        if (p.osProfile?.customData !== undefined) {
          resource.secret.customData = p.osProfile.customData;
          delete p.osProfile.customData;
        }
        resource.properties.vmId = randomUUID();
        const diskName = `${resource.name}_OsDisk_1_${shortHex(16)}`;
        const diskId = state.resourceId(resource.group, 'Microsoft.Compute/disks', diskName);
        p.storageProfile = {
          ...p.storageProfile,
          osDisk: {
            ...p.storageProfile?.osDisk,
            name: diskName,
            managedDisk: { id: diskId },
            createOption: 'FromImage',
          },
        };
        state.resources.set(diskId.toLowerCase(), {
          id: diskId,
          name: diskName,
          type: 'Microsoft.Compute/disks',
          location: resource.location,
          tags: {},
          properties: {
            creationData: { createOption: 'FromImage' },
            provisioningState: 'Succeeded',
            diskSizeGB: 30,
          },
          extra: {},
          secret: {},
          group: resource.group,
        });
      },
      created: (vm) => hooks.created?.(vm),
      async deleted(vm) {
        await hooks.deleted?.(vm);
        // as ARM does with deleteOption Delete (the default keeps the disk)
        const os = (
          vm.properties.storageProfile as { osDisk?: { deleteOption?: string; managedDisk?: { id: string } } }
        ).osDisk;
        const disk = os?.managedDisk ? state.find(os.managedDisk.id) : undefined;
        if (disk && os?.deleteOption === 'Delete') await state.remove(disk);
      },
    },
  ];
  for (const kind of kinds) state.register(kind);
  return kinds;
}
