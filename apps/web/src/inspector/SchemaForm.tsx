/**
 * A form generated from a zod schema, editing the document at `path`. Every input carries the DOM
 * id of its document path, so a validation issue (which carries the same path) can point at it, and
 * shows the issues addressed to its path under it as you type.
 */
import type { Issue } from '@meshcraft/topology';
import { createContext, type ReactNode, useContext, useEffect, useId, useState } from 'react';
import { fieldId, getIn, type Path, samePath, startsWith } from '../editor/paths.js';
import {
  classify,
  humanize,
  initialValue,
  type Kind,
  parseNumberInput,
  parseScalarInput,
  type Schema,
  unwrap,
  variantLabel,
  variantOf,
} from './schemaInfo.js';

export interface FormContextValue {
  doc: unknown;
  issues: readonly Issue[];
  /** Writes `value` at `path` (undefined removes it). */
  set: (path: Path, value: unknown) => void;
  /** The next edit starts its own undo step (a field lost focus). */
  seal: () => void;
  /** A path being revealed: sections on it open. */
  reveal?: { path: Path; seq: number };
}

export const FormContext = createContext<FormContextValue | null>(null);

function useForm(): FormContextValue {
  const ctx = useContext(FormContext);
  if (!ctx) throw new Error('FormContext is missing');
  return ctx;
}

const INPUT =
  'w-full rounded border border-slate-300 bg-white px-2 py-1 text-sm text-slate-800 focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500 aria-[invalid=true]:border-red-400 aria-[invalid=true]:bg-red-50';

function IssuesAt({ path }: { path: Path }) {
  const { issues } = useForm();
  const mine = issues.filter((i) => samePath(i.path, path));
  if (mine.length === 0) return null;
  return (
    <ul className="mt-0.5 space-y-0.5">
      {mine.map((i) => (
        <li
          key={`${i.severity}:${i.message}`}
          className={`text-xs ${i.severity === 'error' ? 'text-red-600' : 'text-amber-700'}`}
          role={i.severity === 'error' ? 'alert' : undefined}
        >
          {i.message}
        </li>
      ))}
    </ul>
  );
}

function hasIssue(issues: readonly Issue[], path: Path): boolean {
  return issues.some((i) => i.severity === 'error' && samePath(i.path, path));
}

export interface FieldProps {
  schema: Schema;
  path: Path;
  label: string;
}

/** One field of any kind: dispatches on the schema. */
export function Field({ schema, path, label }: FieldProps) {
  const { schema: inner, optional } = unwrap(schema);
  const k = classify(inner);
  switch (k.kind) {
    case 'object':
      return <ObjectField shape={k.shape} path={path} label={label} optional={optional} schema={inner} />;
    case 'array':
      return <ArrayField element={k.element} path={path} label={label} />;
    case 'record':
      return <RecordField value={k.value} path={path} label={label} />;
    case 'variants':
      return <VariantsField k={k} path={path} label={label} optional={optional} />;
    case 'json':
      return <JsonField path={path} label={label} />;
    case 'literal':
      return null;
    default:
      return <ScalarField k={k} path={path} label={label} optional={optional} />;
  }
}

function ScalarField({
  k,
  path,
  label,
  optional,
}: {
  k: Kind;
  path: Path;
  label: string;
  optional: boolean;
}) {
  const { doc, issues, set, seal } = useForm();
  const value = getIn(doc, path);
  const id = fieldId(path);
  const invalid = hasIssue(issues, path);
  let control: ReactNode;
  if (k.kind === 'boolean') {
    control = (
      <input
        id={id}
        type="checkbox"
        className="h-4 w-4 accent-blue-600"
        checked={value === true}
        aria-invalid={invalid}
        onChange={(e) => set(path, e.target.checked ? true : optional ? undefined : false)}
      />
    );
  } else if (k.kind === 'enum') {
    control = (
      <select
        id={id}
        className={INPUT}
        value={value === undefined ? '' : String(value)}
        aria-invalid={invalid}
        onChange={(e) => {
          const v = e.target.value;
          set(path, v === '' ? undefined : (k.values.find((x) => String(x) === v) ?? v));
        }}
      >
        {(optional || value === undefined) && <option value="">(default)</option>}
        {k.values.map((v) => (
          <option key={String(v)} value={String(v)}>
            {String(v)}
          </option>
        ))}
      </select>
    );
  } else {
    const toValue = (text: string) =>
      k.kind === 'number'
        ? parseNumberInput(text)
        : k.kind === 'scalars'
          ? parseScalarInput(text, k.types)
          : text === '' && optional
            ? undefined
            : text;
    control =
      k.kind === 'string' && k.multiline ? (
        <textarea
          id={id}
          className={`${INPUT} h-20`}
          value={value === undefined || value === null ? '' : String(value)}
          aria-invalid={invalid}
          onChange={(e) => set(path, toValue(e.target.value) ?? (optional ? undefined : ''))}
          onBlur={seal}
        />
      ) : (
        <input
          id={id}
          className={`${INPUT} ${k.kind === 'number' ? 'font-mono' : ''}`}
          inputMode={k.kind === 'number' ? 'decimal' : undefined}
          value={value === undefined || value === null ? '' : String(value)}
          placeholder={optional ? 'default' : undefined}
          aria-invalid={invalid}
          onChange={(e) => set(path, toValue(e.target.value) ?? (optional ? undefined : ''))}
          onBlur={seal}
        />
      );
  }
  return (
    <div className={k.kind === 'boolean' ? 'flex flex-wrap items-center gap-2 py-1' : 'py-1'}>
      {k.kind === 'boolean' && control}
      <label
        htmlFor={id}
        className={`text-xs font-medium text-slate-600 ${k.kind === 'boolean' ? '' : 'mb-0.5 block'}`}
      >
        {label}
      </label>
      {k.kind !== 'boolean' && control}
      <div className="basis-full">
        <IssuesAt path={path} />
      </div>
    </div>
  );
}

/**
 * A collapsible group that opens by itself when a revealed field lies inside it. Its fields are
 * those under `path`, or, for a group of sibling fields (a node's "More settings"), under `covers`.
 */
export function Section({
  path,
  covers = [path],
  title,
  defaultOpen,
  actions,
  children,
}: {
  path: Path;
  covers?: readonly Path[];
  title: ReactNode;
  defaultOpen: boolean;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const { reveal, issues } = useForm();
  const [open, setOpen] = useState(defaultOpen);
  const inside = (p: Path) => covers.some((c) => startsWith(p, c));
  // Each reveal inside the section opens it, even after the person closed it since the last one.
  const revealedSeq = reveal !== undefined && inside(reveal.path) ? reveal.seq : 0;
  useEffect(() => {
    if (revealedSeq > 0) setOpen(true);
  }, [revealedSeq]);
  const errors = issues.filter((i) => i.severity === 'error' && inside(i.path)).length;
  const bodyId = useId();
  return (
    <div className="my-1 rounded border border-slate-200" id={fieldId(path)} tabIndex={-1}>
      <div className="flex items-center gap-1 bg-slate-50 px-2 py-1">
        <button
          type="button"
          className="flex min-w-0 flex-1 items-center gap-1 text-left text-xs font-semibold text-slate-700"
          aria-expanded={open}
          aria-controls={bodyId}
          onClick={() => setOpen(!open)}
        >
          <span className="w-3 text-slate-400">{open ? '▾' : '▸'}</span>
          <span className="truncate">{title}</span>
          {errors > 0 && (
            <span className="ml-1 rounded-full bg-red-100 px-1.5 text-[10px] text-red-700">{errors}</span>
          )}
        </button>
        {actions}
      </div>
      {open && (
        <div id={bodyId} className="px-2 pb-1">
          <IssuesAt path={path} />
          {children}
        </div>
      )}
    </div>
  );
}

const SMALL_BUTTON = 'rounded px-1.5 py-0.5 text-[11px] font-medium text-slate-600 hover:bg-slate-200';

function ObjectField({
  shape,
  path,
  label,
  optional,
  schema,
}: {
  shape: Record<string, Schema>;
  path: Path;
  label: string;
  optional: boolean;
  schema: Schema;
}) {
  const { doc, set } = useForm();
  const value = getIn(doc, path);
  if (value === undefined) {
    return (
      <div className="flex items-center justify-between py-1" id={fieldId(path)} tabIndex={-1}>
        <span className="text-xs text-slate-500">{label}</span>
        <button type="button" className={SMALL_BUTTON} onClick={() => set(path, initialValue(schema))}>
          + Add
        </button>
      </div>
    );
  }
  return (
    <Section
      path={path}
      title={label}
      defaultOpen={path.length < 6}
      actions={
        optional && (
          <button
            type="button"
            className={SMALL_BUTTON}
            onClick={() => set(path, undefined)}
            title={`Remove ${label}`}
          >
            Remove
          </button>
        )
      }
    >
      <Fields shape={shape} path={path} />
    </Section>
  );
}

/** The fields of an object shape, required ones first. */
export function Fields({
  shape,
  path,
  skip = [],
}: {
  shape: Record<string, Schema>;
  path: Path;
  skip?: readonly string[];
}) {
  const keys = Object.keys(shape).filter((k) => !skip.includes(k));
  const order = [
    ...keys.filter((k) => !unwrap(shape[k]!).optional),
    ...keys.filter((k) => unwrap(shape[k]!).optional),
  ];
  return (
    <>
      {order.map((key) => (
        <Field key={key} schema={shape[key]!} path={[...path, key]} label={humanize(key)} />
      ))}
    </>
  );
}

function itemTitle(item: unknown, index: number): string {
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    for (const k of ['name', 'id', 'address']) if (typeof o[k] === 'string' && o[k]) return `${o[k]}`;
  }
  if (typeof item === 'string' || typeof item === 'number') return String(item);
  return `#${index + 1}`;
}

function ArrayField({ element, path, label }: { element: Schema; path: Path; label: string }) {
  const { doc, set } = useForm();
  const raw = getIn(doc, path);
  const list = Array.isArray(raw) ? raw : [];
  const elementKind = classify(unwrap(element).schema);
  const scalar =
    elementKind.kind !== 'object' && elementKind.kind !== 'variants' && elementKind.kind !== 'array';
  const add = () => set(path, [...list, initialValue(element, list)]);
  const removeItem = (i: number) =>
    set(
      path,
      list.filter((_, j) => j !== i),
    );
  return (
    <Section
      path={path}
      title={`${label} (${list.length})`}
      defaultOpen={path.length < 7}
      actions={
        <button type="button" className={SMALL_BUTTON} onClick={add} aria-label={`Add to ${label}`}>
          + Add
        </button>
      }
    >
      {list.length === 0 && <p className="py-1 text-xs text-slate-400">None.</p>}
      {list.map((item, i) =>
        scalar ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: items are addressed by position, as the document paths are
          <div key={i} className="flex items-start gap-1">
            <div className="flex-1">
              <Field schema={element} path={[...path, i]} label={`${label} ${i + 1}`} />
            </div>
            <button
              type="button"
              className={`${SMALL_BUTTON} mt-5`}
              onClick={() => removeItem(i)}
              aria-label={`Remove ${label} ${i + 1}`}
            >
              ✕
            </button>
          </div>
        ) : (
          <Section
            // biome-ignore lint/suspicious/noArrayIndexKey: items are addressed by position, as the document paths are
            key={i}
            path={[...path, i]}
            title={itemTitle(item, i)}
            defaultOpen={list.length <= 3 && path.length < 8}
            actions={
              <button
                type="button"
                className={SMALL_BUTTON}
                onClick={() => removeItem(i)}
                aria-label={`Remove ${itemTitle(item, i)}`}
              >
                Remove
              </button>
            }
          >
            <ItemBody element={element} path={[...path, i]} />
          </Section>
        ),
      )}
    </Section>
  );
}

function ItemBody({ element, path }: { element: Schema; path: Path }) {
  const k = classify(unwrap(element).schema);
  if (k.kind === 'object') return <Fields shape={k.shape} path={path} />;
  if (k.kind === 'variants') return <VariantsBody k={k} path={path} />;
  return <Field schema={element} path={path} label="Value" />;
}

function VariantsField({
  k,
  path,
  label,
  optional,
}: {
  k: Extract<Kind, { kind: 'variants' }>;
  path: Path;
  label: string;
  optional: boolean;
}) {
  const { doc, set } = useForm();
  const value = getIn(doc, path);
  if (value === undefined) {
    return (
      <div className="flex items-center justify-between py-1" id={fieldId(path)} tabIndex={-1}>
        <span className="text-xs text-slate-500">{label}</span>
        <button type="button" className={SMALL_BUTTON} onClick={() => set(path, initialValue(k.options[0]!))}>
          + Add
        </button>
      </div>
    );
  }
  return (
    <Section
      path={path}
      title={label}
      defaultOpen
      actions={
        optional && (
          <button type="button" className={SMALL_BUTTON} onClick={() => set(path, undefined)}>
            Remove
          </button>
        )
      }
    >
      <VariantsBody k={k} path={path} />
    </Section>
  );
}

function VariantsBody({ k, path }: { k: Extract<Kind, { kind: 'variants' }>; path: Path }) {
  const { doc, set } = useForm();
  const value = getIn(doc, path);
  const current = variantOf(k, value);
  const shape = (classify(k.options[current]!) as { shape?: Record<string, Schema> }).shape ?? {};
  const choose = (i: number) => {
    const fresh = initialValue(k.options[i]!) as Record<string, unknown>;
    // Fields both variants share (a name, say) survive the switch.
    const keep = Object.fromEntries(
      Object.entries((value as Record<string, unknown>) ?? {}).filter(
        ([key]) => key in fresh && key !== k.discriminator,
      ),
    );
    set(path, { ...fresh, ...keep });
  };
  return (
    <>
      <fieldset className="flex flex-wrap gap-1 py-1">
        <legend className="sr-only">Form</legend>
        {k.options.map((_, i) => (
          <button
            // biome-ignore lint/suspicious/noArrayIndexKey: variants are fixed by the schema
            key={i}
            type="button"
            aria-pressed={i === current}
            className={`rounded border px-2 py-0.5 text-xs ${i === current ? 'border-blue-500 bg-blue-50 text-blue-700' : 'border-slate-300 text-slate-600'}`}
            onClick={() => choose(i)}
          >
            {variantLabel(k, i)}
          </button>
        ))}
      </fieldset>
      <Fields shape={shape} path={path} skip={k.discriminator ? [k.discriminator] : []} />
    </>
  );
}

function RecordField({ value: valueSchema, path, label }: { value: Schema; path: Path; label: string }) {
  const { doc, set } = useForm();
  const raw = getIn(doc, path);
  const entries = raw && typeof raw === 'object' ? Object.entries(raw as Record<string, unknown>) : [];
  const vk = classify(unwrap(valueSchema).schema);
  const rename = (from: string, to: string) => {
    if (to === from || to === '' || entries.some(([k]) => k === to)) return;
    set(path, Object.fromEntries(entries.map(([k, v]) => [k === from ? to : k, v])));
  };
  const addKey = () => {
    let n = entries.length + 1;
    while (entries.some(([k]) => k === `key${n}`)) n++;
    set(path, { ...Object.fromEntries(entries), [`key${n}`]: initialValue(valueSchema) });
  };
  return (
    <Section
      path={path}
      title={`${label} (${entries.length})`}
      defaultOpen={entries.length > 0}
      actions={
        <button type="button" className={SMALL_BUTTON} onClick={addKey}>
          + Add
        </button>
      }
    >
      {entries.map(([key]) => (
        <div key={key} className="flex items-start gap-1">
          <input
            aria-label={`${label} key`}
            className={`${INPUT} mt-5 w-2/5 font-mono`}
            defaultValue={key}
            onBlur={(e) => rename(key, e.target.value)}
          />
          <div className="flex-1">
            {vk.kind === 'json' ? (
              <JsonField path={[...path, key]} label={key} />
            ) : (
              <Field schema={valueSchema} path={[...path, key]} label={key} />
            )}
          </div>
          <button
            type="button"
            className={`${SMALL_BUTTON} mt-5`}
            onClick={() => set(path, Object.fromEntries(entries.filter(([k]) => k !== key)))}
            aria-label={`Remove ${key}`}
          >
            ✕
          </button>
        </div>
      ))}
    </Section>
  );
}

/** Free-form Envoy JSON (escape hatches): edited as text, written only once it parses. */
function JsonField({ path, label }: { path: Path; label: string }) {
  const { doc, set } = useForm();
  const value = getIn(doc, path);
  const shown = value === undefined ? '' : JSON.stringify(value, null, 2);
  const [text, setText] = useState(shown);
  const [error, setError] = useState<string>();
  useEffect(() => setText(shown), [shown]);
  const id = fieldId(path);
  return (
    <div className="py-1">
      <label htmlFor={id} className="mb-0.5 block text-xs font-medium text-slate-600">
        {label} <span className="font-normal text-slate-400">(JSON)</span>
      </label>
      <textarea
        id={id}
        className={`${INPUT} h-24 font-mono text-xs`}
        value={text}
        aria-invalid={error !== undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === '') {
            setError(undefined);
            set(path, undefined);
            return;
          }
          try {
            set(path, JSON.parse(e.target.value));
            setError(undefined);
          } catch (err) {
            setError(`not valid JSON yet (${(err as Error).message}); the lab keeps the last valid value`);
          }
        }}
      />
      {error && <p className="text-xs text-red-600">{error}</p>}
      <IssuesAt path={path} />
    </div>
  );
}
