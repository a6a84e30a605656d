export { Demoapp, type DemoappOptions, interfaceAddress, optionsFromEnv } from './demoapp.js';
