export { createTestContext, type TestContext, type TestContextOptions } from './context.js';
export { describePlatformContract, type PlatformContractSetup } from './contract.js';
export {
  authorizedKeysOf,
  type FakeMachineState,
  type FakeOptions,
  fakeCloudMachines,
  fakeOptions,
  fakePlatform,
  restartFakeSshServer,
} from './fake-platform.js';
export {
  freePort,
  generateHostKey,
  type MockSshServer,
  type MockSshServerOptions,
  startMockSshServer,
} from './mock-ssh-server.js';
