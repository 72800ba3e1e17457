export { ConfigError, parseEnv } from './env-config.js';
export { Metrics } from './metrics.js';
export { exitOnSignals } from './shutdown.js';
