/** The Rust workspace's package version, injected by vitest.config.ts. */
declare const __RECUR_CRATE_VERSION__: string;
