/**
 * Import and export in the browser. A YAML file is checked here before it goes anywhere, so a
 * broken one is reported with line and column and changes nothing; ZIP files (meshcraft's own
 * exports) are checked by the server.
 */
import { errorsOf, type Issue, type Lab, parseLab, stringifyLab } from '@meshcraft/topology';

export type ImportInput = { kind: 'yaml'; text: string } | { kind: 'zip'; base64: string };

export async function readImportFile(file: File): Promise<{ input: ImportInput } | { issues: Issue[] }> {
  if (/\.zip$/i.test(file.name)) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000)
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return { input: { kind: 'zip', base64: btoa(binary) } };
  }
  const text = await file.text();
  const parsed = parseLab(text);
  const errors = errorsOf(parsed.issues);
  if (errors.length > 0) return { issues: errors };
  return { input: { kind: 'yaml', text } };
}

export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadLabYaml(lab: Lab): void {
  downloadBlob(`${lab.metadata.name}.lab.yaml`, new Blob([stringifyLab(lab)], { type: 'application/yaml' }));
}

export function base64ToBlob(base64: string, type: string): Blob {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}
