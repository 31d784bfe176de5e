export * from './bands';
export * from './methods';
export * from './reasoningUri';
export * from './types';
export * from './branches';
export * from './calibration';
export * from './text';
