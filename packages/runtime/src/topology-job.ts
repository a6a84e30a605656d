/** A topology `Lab` as a job for a driver: its layout, its address plans and its rendering. */
import {
  type AddressPlan,
  buildLayout,
  dockerAddressPlan,
  type Lab,
  LabIndex,
  localAddressPlan,
  loopbackBlockFor,
  render,
} from '@meshcraft/topology';
import type { LabJob } from './driver.js';

export function topologyJob(lab: Lab): LabJob {
  const layout = buildLayout(new LabIndex(lab));
  return {
    id: lab.metadata.name,
    layout,
    dockerPlan: (options) => dockerAddressPlan(layout, options),
    localPlan: (options) => localAddressPlan(layout, options),
    loopbackBlockFor,
    // Plans come from the two functions above, so they are topology's own AddressPlan values.
    render: (plan) => render(lab, plan as AddressPlan),
  };
}
