//! The rows of one kind (monthly plates, door cards, blacklist rows, locked
//! plates) spread over [`BUCKETS`] buckets, each with a digest, so that two peers can tell
//! which buckets differ without exchanging the rows.

use super::{digest, fnv, BUCKETS};
use crate::fields::normalize_plate;
use crate::link::doors::DoorCard;
use crate::link::{BlackRow, MonthlyPlate};
use serde::Serialize;

/// A row the sync carries in buckets. `Ord` gives each bucket one order, so
/// both sides compute the same digest whatever order the rows came in.
pub trait Row: Clone + Ord + Serialize {
    /// The row as stored, or None for a row without a key (never sent).
    fn admit(self) -> Option<Self>;
    /// Its bucket in `0..BUCKETS`; a function of the key only, so a changed
    /// row stays in its bucket and costs that bucket alone.
    fn bucket(&self) -> usize;
}

pub fn plate_bucket(plate_no: &str) -> usize {
    (fnv(normalize_plate(plate_no).as_bytes()) % BUCKETS as u64) as usize
}

impl Row for MonthlyPlate {
    fn admit(mut self) -> Option<Self> {
        self.plate_no = normalize_plate(&self.plate_no);
        (!self.plate_no.is_empty()).then_some(self)
    }
    fn bucket(&self) -> usize {
        plate_bucket(&self.plate_no)
    }
}

impl Row for DoorCard {
    fn admit(self) -> Option<Self> {
        (!self.no.trim().is_empty()).then_some(self)
    }
    fn bucket(&self) -> usize {
        (fnv(self.no.trim().as_bytes()) % BUCKETS as u64) as usize
    }
}

impl Row for BlackRow {
    fn admit(self) -> Option<Self> {
        (!self.plate.trim().is_empty()).then_some(self)
    }
    fn bucket(&self) -> usize {
        plate_bucket(&self.plate)
    }
}

/// A locked plate: the normalised plate and nothing else.
impl Row for String {
    fn admit(self) -> Option<Self> {
        let plate = normalize_plate(&self);
        (!plate.is_empty()).then_some(plate)
    }
    fn bucket(&self) -> usize {
        plate_bucket(self)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table<T> {
    buckets: Vec<Vec<T>>,
    digests: Vec<String>,
}

impl<T: Row> Table<T> {
    pub fn new(rows: impl IntoIterator<Item = T>) -> Table<T> {
        let mut t = Table { buckets: vec![Vec::new(); BUCKETS], digests: vec![String::new(); BUCKETS] };
        for r in rows.into_iter().filter_map(Row::admit) {
            t.buckets[r.bucket()].push(r);
        }
        for i in 0..BUCKETS {
            t.settle(i);
        }
        t
    }

    /// Sorts and dedups bucket `i` and refreshes its digest.
    pub fn settle(&mut self, i: usize) {
        let b = &mut self.buckets[i];
        b.sort();
        b.dedup();
        self.digests[i] = digest(&serde_json::to_string(b).unwrap_or_default());
    }

    pub fn digests(&self) -> &[String] {
        &self.digests
    }

    pub fn bucket(&self, i: usize) -> &[T] {
        &self.buckets[i]
    }

    pub fn rows(&self) -> impl Iterator<Item = &T> {
        self.buckets.iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    pub fn clear(&mut self, i: usize) {
        self.buckets[i].clear();
    }

    /// Adds a row to its bucket; the caller settles the bucket afterwards.
    /// Answers the bucket, or None for a row without a key (dropped).
    pub fn push(&mut self, row: T) -> Option<usize> {
        let row = row.admit()?;
        let b = row.bucket();
        self.buckets[b].push(row);
        Some(b)
    }
}
