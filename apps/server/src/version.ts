declare const __APP_VERSION__: string | undefined;

/** The package version, inlined by the build (tsup `define`); `0.0.0-dev` when running from src. */
export const APP_VERSION = typeof __APP_VERSION__ === 'string' ? __APP_VERSION__ : '0.0.0-dev';
