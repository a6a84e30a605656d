/**
 * What the editor shows beside the graph: the Envoy bootstrap each proxy would run and the
 * compose file, rendered with the lab's own addresses (the docker plan), exactly as export
 * writes them; and the export itself, as a zip.
 */
import {
  buildLayout,
  dockerAddressPlan,
  type ImageFlavour,
  type Issue,
  type Lab,
  LabIndex,
  parseLab,
  parseLabObject,
  render,
} from '@meshcraft/topology';
import { exportZip } from '@meshcraft/topology/node';
import { ConsoleError } from '../errors.js';

export interface RenderPreview {
  proxies: { node: string; namespace: string; container: string; file: string; yaml: string }[];
  compose: string;
  /** Every file the project would hold (project-relative paths). */
  files: string[];
  warnings: Issue[];
}

export function checkedLab(value: unknown): { lab: Lab; issues: Issue[] } {
  const { lab, issues } = parseLabObject(value);
  if (!lab) {
    throw new ConsoleError(
      'INVALID_LAB',
      'the lab has errors, so it cannot be rendered',
      'fix the listed fields first',
      {
        issues,
      },
    );
  }
  return { lab, issues };
}

export function renderPreview(value: unknown, images: ImageFlavour): RenderPreview {
  const { lab } = checkedLab(value);
  const rendered = render(lab, dockerAddressPlan(buildLayout(new LabIndex(lab))), { images });
  return {
    proxies: rendered.proxies.map((p) => ({
      node: p.node,
      namespace: p.namespace,
      container: p.container,
      file: p.file,
      yaml: p.yaml,
    })),
    compose: rendered.compose ?? '',
    files: Object.keys(rendered.files).sort(),
    warnings: rendered.warnings,
  };
}

export interface ExportedZip {
  fileName: string;
  base64: string;
  warnings: Issue[];
}

export function exportZipOf(lab: Lab, images: ImageFlavour): ExportedZip {
  const { zip, warnings } = exportZip(lab, { images });
  return { fileName: `${lab.metadata.name}.zip`, base64: Buffer.from(zip).toString('base64'), warnings };
}

export interface Validation {
  valid: boolean;
  issues: Issue[];
}

export function validateLabInput(input: { value: unknown } | { text: string }): Validation {
  const { lab, issues } = 'text' in input ? parseLab(input.text) : parseLabObject(input.value);
  return { valid: lab !== undefined, issues };
}
