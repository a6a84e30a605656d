export {
  type Extension,
  type ExtensionCategory,
  filterTypeUrl,
  findExtension,
  LEGACY_NAMES,
} from './extensions.js';
export * from './load.js';
export type * from './types.js';
