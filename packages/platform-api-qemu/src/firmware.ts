/** Debian's OVMF (package ovmf): UEFI firmware code, and the variable store each VM gets a copy of. */
export const ovmfCode = '/usr/share/OVMF/OVMF_CODE.fd';
export const ovmfVars = '/usr/share/OVMF/OVMF_VARS.fd';
