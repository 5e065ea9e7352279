import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests start real processes (umoci, skopeo, runc) and hash real trees: on
    // two cores, more than two files at once only makes them slower and flakier.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The CLIs tests run never read the developer's contexts (~/.config/ingot/config.yaml):
    // with `scripts/local-cluster up` current, they would all talk to that cluster. A test
    // that needs contexts gives its children an XDG_CONFIG_HOME of its own.
    // Nor the machine's home (/var/lib/ingot as root): a test that forgets INGOT_HOME lands in
    // a throwaway folder, and one about the default home unsets it (INGOT_HOME='').
    env: {
      XDG_CONFIG_HOME: '/nonexistent/ingot-tests',
      INGOT_HOME: join(tmpdir(), 'ingot-tests-default-home'),
    },
  },
});
