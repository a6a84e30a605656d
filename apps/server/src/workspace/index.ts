export { checkLabName, LAB_FILE_SUFFIX, labFile, toLabName } from './names.js';
export * from './store.js';
