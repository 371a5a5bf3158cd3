//! The limits as the layer runs them: each class's table, and its quota, changeable while
//! serving.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use http::request::Parts;
use pacer_core::{KeyedRateLimiter, Quota, ShardedKeyedGcra, Snapshot};

use super::extract::KeyExtractor;
use super::headers::Policy;
use super::key::{Key, KeyError};
use super::limit::{Classify, ConfigError, Limit, Unreadable};

/// A limit, running.
pub(crate) struct LimitState {
    pub(crate) name: Arc<str>,
    extractor: Box<dyn KeyExtractor>,
    classify: Option<Box<Classify>>,
    pub(crate) unreadable: Unreadable,
    pub(crate) classes: Box<[ClassState]>,
    /// The limit's Redis store, if it is kept there.
    #[cfg(feature = "redis")]
    pub(crate) remote: Option<super::remote::Remote>,
}

/// A class of a limit, running: its table and its quota.
pub(crate) struct ClassState {
    pub(crate) name: Arc<str>,
    /// The policy's name in the `RateLimit` fields: the limit's, or `limit.class` for a
    /// limit of several classes.
    pub(crate) policy_name: Arc<str>,
    /// The quota and its header item, read on every request without a lock.
    policy: ArcSwap<Policy>,
    /// Held while the quota changes, so that two changes do not interleave.
    changing: Mutex<()>,
    pub(crate) table: ShardedKeyedGcra<Key>,
}

/// What a limit asks of one request: its class and key, or nothing (skipped).
pub(crate) enum Wanted {
    /// Decide on this key in this class.
    Key { class: usize, key: Key },
    /// This limit lets the request pass (its key was unreadable and it skips).
    Skip,
}

impl LimitState {
    pub(crate) fn new(limit: Limit) -> Result<LimitState, ConfigError> {
        let several = limit.classes.len() > 1;
        #[cfg(feature = "redis")]
        if limit.remote.is_some() && several {
            return Err(ConfigError::Unsupported("classes on a Redis limit"));
        }
        let classes = limit
            .classes
            .into_iter()
            .map(|spec| {
                let table = match limit.shards {
                    Some(shards) => {
                        ShardedKeyedGcra::with_shards(spec.quota, spec.capacity, shards)
                    }
                    None => ShardedKeyedGcra::new(spec.quota, spec.capacity),
                }?
                .when_full(limit.when_full);
                let policy_name: Arc<str> = if several {
                    format!("{}.{}", limit.name, spec.name).into()
                } else {
                    limit.name.clone()
                };
                Ok(ClassState {
                    name: spec.name,
                    policy: ArcSwap::from_pointee(Policy::new(&policy_name, spec.quota)),
                    policy_name,
                    changing: Mutex::new(()),
                    table,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(LimitState {
            name: limit.name,
            extractor: limit.extractor,
            classify: limit.classify,
            unreadable: limit.unreadable,
            classes,
            #[cfg(feature = "redis")]
            remote: limit.remote,
        })
    }

    /// This limit's class and key for `request`, or why the key cannot be read.
    pub(crate) fn wanted(&self, request: &Parts) -> Result<Wanted, KeyError> {
        let key = match self.extractor.extract(request) {
            Ok(key) => key,
            Err(error) => match &self.unreadable {
                Unreadable::Respond(_) => return Err(error),
                Unreadable::Skip => return Ok(Wanted::Skip),
                Unreadable::Shared(key) => key.clone(),
            },
        };
        let class = match &self.classify {
            None => 0,
            Some(classify) => {
                let name = classify(request, &key);
                self.classes
                    .iter()
                    .position(|class| &*class.name == name)
                    .unwrap_or(0)
            }
        };
        Ok(Wanted::Key { class, key })
    }

    /// Whether the limit is kept in Redis.
    pub(crate) fn is_remote(&self) -> bool {
        #[cfg(feature = "redis")]
        return self.remote.is_some();
        #[cfg(not(feature = "redis"))]
        false
    }

    pub(crate) fn class(&self, name: &str) -> Result<&ClassState, ConfigError> {
        self.classes
            .iter()
            .find(|class| &*class.name == name)
            .ok_or_else(|| ConfigError::UnknownClass(name.to_owned()))
    }
}

impl ClassState {
    /// The quota in force.
    pub(crate) fn quota(&self) -> Quota {
        self.policy.load().quota
    }

    /// The quota in force and its header item.
    pub(crate) fn policy(&self) -> arc_swap::Guard<Arc<Policy>> {
        self.policy.load()
    }

    /// Changes the quota at `now` (see [`ShardedKeyedGcra::set_quota`]).
    pub(crate) fn set_quota(&self, now: u64, quota: Quota) -> Result<(), ConfigError> {
        let _one_change = self.changing.lock().unwrap_or_else(PoisonError::into_inner);
        self.table.set_quota(now, quota)?;
        self.policy
            .store(Arc::new(Policy::new(&self.policy_name, quota)));
        Ok(())
    }

    /// The key's state now (for a refusal).
    pub(crate) fn snapshot(&self, key: &Key, now: u64) -> Snapshot {
        self.table.snapshot(key, now)
    }
}
