/**
 * Machine userdata: what a test asks for (Ignition v3, cloud-config or a script), validated up front so a
 * bad config fails before any machine exists, and rendered per machine with kola's SSH keys, platform
 * variables and platform additions (mantle's conf.UserData / RenderUserData / CopyKeys).
 */

export type { CloudConfig } from './cloud-config.js';
export { dataUrlProblem } from './data-url.js';
export { validateIgnition } from './ignition-checks.js';
export {
  IGNITION_VERSIONS,
  type IgnitionConfig,
  type IgnitionResource,
  type IgnitionVersion,
} from './ignition-schema.js';
export { jsonPath } from './json-path.js';
export { type RenderedKind, RenderedUserData, type RenderOptions, renderUserData } from './render.js';
export { UserData, type UserDataKind } from './user-data.js';
