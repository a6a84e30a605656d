import { Component, type ErrorInfo, type ReactNode } from 'react';

interface State {
  error?: Error;
}

/**
 * A render failure replaces the console with a message instead of a blank page. The lab being
 * edited is safe: every unsaved change is already in the browser's draft storage, and reloading
 * reopens it.
 */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = {};

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('meshcraft console crashed', error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div
        role="alert"
        className="mx-auto mt-24 max-w-xl rounded-lg border border-red-200 bg-red-50 p-6 text-sm text-red-900"
      >
        <h1 className="mb-2 text-base font-semibold">The console hit a bug and stopped drawing.</h1>
        <p className="mb-2">
          Your edits are kept: unsaved changes are stored in this browser and come back when the lab is opened
          again.
        </p>
        <pre className="mb-3 overflow-auto rounded bg-white p-2 text-xs text-red-800">
          {this.state.error.message}
        </pre>
        <button
          type="button"
          className="rounded bg-red-700 px-3 py-1 text-white"
          onClick={() => window.location.reload()}
        >
          Reload the console
        </button>
      </div>
    );
  }
}
