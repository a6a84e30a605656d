/**
 * Filesystem subscriptions (`path`, `path_config_source`): the file holds a DiscoveryResponse,
 * read at start and again whenever a file is *moved onto* the path — Envoy watches for
 * IN_MOVED_TO only, which is why the course's `mv eds.yaml bak; mv bak eds.yaml` trick (or writing
 * a temp file and renaming it into place) is how these files are changed. Writes in place are not
 * picked up, so a half-written file is never loaded.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { ConfigError, loadDiscoveryResponseFile } from '../config/index.js';
import { decodeResources } from './resources.js';
import {
  deliver,
  type Subscription,
  type SubscriptionCallbacks,
  type SubscriptionStats,
} from './subscription.js';

export class FilesystemSubscription implements Subscription {
  private watcher: fs.FSWatcher | undefined;
  private refreshQueued = false;

  /**
   * `watchedDirectory` (path_config_source.watched_directory): a move of any file into it reloads
   * the path, for directories swapped as a whole (a Kubernetes ConfigMap's `..data` symlink).
   */
  constructor(
    private readonly file: string,
    private readonly watchedDirectory: string | undefined,
    private readonly typeName: string,
    private readonly callbacks: SubscriptionCallbacks,
    private readonly stats: SubscriptionStats,
    private readonly log: Logger,
  ) {
    // Envoy checks the path when it creates the subscription.
    if (!fs.existsSync(file)) {
      throw new ConfigError(`paths must refer to an existing path in the system: '${file}' does not exist`);
    }
  }

  start(): void {
    const dir = this.watchedDirectory ?? path.dirname(this.file);
    const base = path.basename(this.file);
    this.watcher = fs.watch(dir, (event, filename) => {
      // 'rename' is every move onto or off a name; only one that leaves a file behind reloads.
      if (event !== 'rename') return;
      if (!this.watchedDirectory && filename !== base) return;
      this.queueRefresh();
    });
    this.watcher.on('error', (err) => this.log.warn(`filesystem watch of ${dir} failed: ${err.message}`));
    this.refresh();
  }

  /** Files carry what they carry; an EDS or RDS owner picks its resource out of them. */
  updateResourceInterest(): void {}

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** One move can report several names (`mv bak eds.yaml`: bak and eds.yaml); read the file once. */
  private queueRefresh(): void {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    setImmediate(() => {
      this.refreshQueued = false;
      // The move took the file away (the first half of the mv trick): wait for it to come back.
      if (this.watcher && fs.existsSync(this.file)) this.refresh();
    });
  }

  private refresh(): void {
    this.log.debug(`Filesystem config refresh for ${this.file}`);
    let resources: ReturnType<typeof decodeResources>;
    let version: string;
    try {
      const { response } = loadDiscoveryResponseFile(this.file);
      version = response.version_info ?? '';
      resources = decodeResources(this.typeName, response.resources ?? []);
    } catch (err) {
      const unreadable = err instanceof ConfigError && err.reason.startsWith('Unable to read file');
      if (unreadable) {
        this.stats.update_attempt.inc();
        this.stats.update_failure.inc();
        this.log.warn(`Filesystem config update failure: ${(err as Error).message}`);
      } else {
        this.stats.rejected();
        this.log.warn(`Filesystem config update rejected: ${(err as Error).message}`);
        this.callbacks.onConfigUpdateFailed('UpdateRejected', err as Error);
      }
      return;
    }
    const rejection = deliver(this.callbacks, this.stats, resources, version);
    if (rejection) this.log.warn(`Filesystem config update rejected: ${rejection.message}`);
    else this.log.debug(`Filesystem config update accepted for ${this.file} (version '${version}')`);
  }
}
