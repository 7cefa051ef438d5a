// Types only: the SDK imports `AppRouter` from here. Nothing at runtime may be imported by the client.
export type { AppRouter } from './routers/index.js';
