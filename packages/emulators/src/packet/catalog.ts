/** The emulated project's catalog: a few metros and plans, as Equinix Metal wrote them before its sunset. */

export interface MetalMetro {
  id: string;
  code: string;
  name: string;
  country: string;
}

export const metalMetros: readonly MetalMetro[] = [
  { id: '2991b022-b8c4-497e-8db7-5a407c3a209b', code: 'sv', name: 'Silicon Valley', country: 'US' },
  { id: '108b2cfb-246b-45e3-885a-bf3e82fce1a0', code: 'da', name: 'Dallas', country: 'US' },
  { id: '96a57b6d-c62c-41b5-ab8e-f8d63a7f9887', code: 'ny', name: 'New York', country: 'US' },
  { id: '0f3e9a4c-9b4a-4d0b-9a62-2a7a3c0f7f11', code: 'am', name: 'Amsterdam', country: 'NL' },
];

export interface MetalPlan {
  id: string;
  slug: string;
  name: string;
  /** The architecture of its board (mantle's amd64-usr / arm64-usr). */
  arch: 'x86_64' | 'arm64';
  metros: readonly string[];
}

export const metalPlans: readonly MetalPlan[] = [
  {
    id: 'e69c0169-4726-46ea-98f1-939c9e8a3607',
    slug: 'c3.small.x86',
    name: 'c3.small.x86',
    arch: 'x86_64',
    metros: ['sv', 'da', 'ny', 'am'],
  },
  {
    id: '0b8b4d3d-5f4e-4a5e-9b8f-1e2e8d6c8a21',
    slug: 'm3.small.x86',
    name: 'm3.small.x86',
    arch: 'x86_64',
    metros: ['sv', 'da'],
  },
  {
    id: '5a8d3a67-3d0a-4b0d-8f1b-6c2f0a9b4c77',
    slug: 'c3.large.arm64',
    name: 'c3.large.arm64',
    arch: 'arm64',
    metros: ['da'],
  },
];

export const metroJson = (m: MetalMetro) => ({ id: m.id, code: m.code, name: m.name, country: m.country });

export const planJson = (p: MetalPlan) => ({
  id: p.id,
  slug: p.slug,
  name: p.name,
  class: p.slug,
  line: 'baremetal',
  type: 'standard',
  legacy: false,
  available_in_metros: p.metros.map((code) => ({ href: `/metal/v1/locations/metros/${code}` })),
});
