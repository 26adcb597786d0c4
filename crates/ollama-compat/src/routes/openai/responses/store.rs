//! The bounded in-memory store behind `previous_response_id`: each kept response's whole
//! conversation (every input item before it, its own input and its output items), bounded by
//! count and by age; the oldest go first. Nothing is written to disk.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Recent responses by id.
#[derive(Debug)]
pub struct ResponseStore {
    max: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<String, (Instant, Arc<Vec<Value>>)>,
    order: VecDeque<String>,
}

impl ResponseStore {
    /// A store keeping at most `max` responses (0: none) for at most `ttl`.
    pub fn new(max: usize, ttl: Duration) -> Self {
        ResponseStore {
            max,
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Keep a response's conversation items under its id.
    pub fn put(&self, id: String, items: Vec<Value>) {
        if self.max == 0 {
            return;
        }
        let now = Instant::now();
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::expire(&mut g, now, self.ttl);
        while g.order.len() >= self.max {
            if let Some(old) = g.order.pop_front() {
                g.by_id.remove(&old);
            }
        }
        g.order.push_back(id.clone());
        g.by_id.insert(id, (now, Arc::new(items)));
    }

    /// The conversation items of a response that is still kept.
    pub fn get(&self, id: &str) -> Option<Arc<Vec<Value>>> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::expire(&mut g, Instant::now(), self.ttl);
        g.by_id.get(id).map(|(_, items)| Arc::clone(items))
    }

    /// How many responses are kept now.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .order
            .len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expire(g: &mut Inner, now: Instant, ttl: Duration) {
        while let Some(first) = g.order.front() {
            let old = g
                .by_id
                .get(first)
                .is_none_or(|(at, _)| now.duration_since(*at) > ttl);
            if !old {
                break;
            }
            if let Some(id) = g.order.pop_front() {
                g.by_id.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounded_by_count_and_age() {
        let s = ResponseStore::new(2, Duration::from_secs(60));
        s.put("a".into(), vec![json!(1)]);
        s.put("b".into(), vec![json!(2)]);
        s.put("c".into(), vec![json!(3)]);
        assert!(s.get("a").is_none(), "the oldest went first");
        assert_eq!(s.get("c").unwrap()[0], 3);
        assert_eq!(s.len(), 2);
        let s = ResponseStore::new(8, Duration::ZERO);
        s.put("a".into(), vec![]);
        std::thread::sleep(Duration::from_millis(2));
        assert!(s.get("a").is_none(), "expired");
        let s = ResponseStore::new(0, Duration::from_secs(60));
        s.put("a".into(), vec![]);
        assert!(s.is_empty());
    }
}
