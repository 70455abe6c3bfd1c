import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigError } from '@mantle/cluster';
import { fitsOneVmdkExtent, streamOptimizedVmdk } from '@mantle/cluster/stream-vmdk';

/**
 * A raw disk as an import: an OVF of one VM with that disk, and the disk sent as the
 * stream-optimized VMDK made on the fly (the writer `ore aws upload` uses), so nothing is written
 * to local disk.
 */
export function rawDiskSource(file: string, size: number) {
  if (size === 0 || size % 512 !== 0) {
    throw new ConfigError(
      `--file ${file}: a raw disk must be a non-empty multiple of 512 bytes (is ${size})`,
    );
  }
  if (!fitsOneVmdkExtent(size)) throw new ConfigError(`--file ${file}: too large for one VMDK extent`);
  const diskName = `${basename(file).replace(/\.[^.]+$/, '') || 'disk'}.vmdk`;
  return {
    ovf: ovfForDisk(diskName, size),
    open(path: string) {
      if (path !== diskName) return undefined;
      // the upload's signal destroys the request, and with it this stream: no signal of its own
      const signal = new AbortController().signal;
      const { chunks } = streamOptimizedVmdk({ path: file, size, identity: `${file}:${size}`, signal });
      return { stream: Readable.from(chunks) };
    },
  };
}

/** The smallest OVF vSphere imports: one VM, one SCSI controller, one disk, one NIC. */
export function ovfForDisk(diskName: string, size: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References><File ovf:href="${diskName}" ovf:id="file1"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="${size}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection><Info>The list of logical networks</Info><Network ovf:name="mantle"><Description>kola</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="kola-base">
    <Info>A kola base VM</Info>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>Linux</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Virtual hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits><rasd:ElementName>2 virtual CPUs</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>2048MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>2048</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI Controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard Disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:AutomaticAllocation>true</rasd:AutomaticAllocation><rasd:Connection>mantle</rasd:Connection><rasd:ElementName>Ethernet 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
