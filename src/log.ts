import createDebug from 'debug';

/**
 * `debug` namespaces. Enable with `DEBUG=resilient-mysql-pool:*`.
 * - `:pool`       lifecycle: config, create, evict, end
 * - `:connection` per connection: ping results, why it was dropped
 * - `:retry`      what was retried and why, what was not and why
 */
export const log = {
  pool: createDebug('resilient-mysql-pool:pool'),
  connection: createDebug('resilient-mysql-pool:connection'),
  retry: createDebug('resilient-mysql-pool:retry'),
};
