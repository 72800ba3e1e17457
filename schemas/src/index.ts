export * from './event.js';
export * from './rows.js';
export * from './sniff.js';
export * from './wire-v1.js';
export * from './wire-legacy.js';
export * from './normalise.js';
export * from './parsl-version.js';
export * from './decode.js';
