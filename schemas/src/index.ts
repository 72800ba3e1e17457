export * from './event.js';
export * from './rows.js';
