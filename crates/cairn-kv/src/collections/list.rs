//! A list stored as a deque of chunks: the layout of Redis lists.
//!
//! Elements sit in chunks of at most [`CHUNK`] elements, numbered by a sequence that grows
//! toward the tail. Invariant: every chunk but the first and the last is full, so the chunk
//! and position of index i are computed, not searched: `LINDEX`, `LSET` and `LRANGE` read only
//! the chunks they need. The first and the last chunk live inside the descriptor, the others
//! in child records: a push or pop at either end rewrites the descriptor alone, one record.
//! Commands that change the middle (`LINSERT`, `LREM`, `LTRIM` that keeps a middle part)
//! rewrite the list, as they are O(n) in Redis too.
//!
//! ```text
//! descriptor: generation u64 | len u64 | first chunk seq u64 | chunks u64 | first chunk len u64
//!             | first chunk's elements | last chunk's elements (when there are two chunks or more)
//! chunk:      child 'l' | seq (u64 BE) → elements (u32 len + bytes)*     (the others)
//! ```

use bytes::Bytes;

use crate::encoding::{child_key, Reader, Writer};
use crate::error::Result;
use crate::reply::Slices;
use crate::txn::Txn;

/// Elements per chunk.
pub const CHUNK: u64 = 16;

/// The chunks loaded since the last flush, with whether each changed. Most commands load a
/// handful, found by a search in order (no hashing on every access); past [`LINEAR_MAX`]
/// (an RPUSH of a million values, a list kept decoded over a pipeline) a hash index takes
/// over, so that loading n chunks costs O(n), not O(n²).
#[derive(Debug, Clone, Default)]
struct Loaded {
    chunks: Vec<(u64, (Vec<Bytes>, bool))>,
    /// Where each chunk is in `chunks`, once there are more than `LINEAR_MAX`.
    index: std::collections::HashMap<u64, usize>,
}

/// Chunks searched in order before [`Loaded`] indexes them.
const LINEAR_MAX: usize = 16;

impl Loaded {
    fn position(&self, seq: u64) -> Option<usize> {
        if self.chunks.len() <= LINEAR_MAX {
            self.chunks.iter().position(|(s, _)| *s == seq)
        } else {
            self.index.get(&seq).copied()
        }
    }
    fn get(&self, seq: &u64) -> Option<&(Vec<Bytes>, bool)> {
        self.position(*seq).map(|at| &self.chunks[at].1)
    }
    fn contains_key(&self, seq: &u64) -> bool {
        self.position(*seq).is_some()
    }
    /// Adds chunk `seq` (not loaded yet); returns where it is.
    fn push(&mut self, seq: u64, chunk: (Vec<Bytes>, bool)) -> usize {
        let at = self.chunks.len();
        self.chunks.push((seq, chunk));
        if self.chunks.len() > LINEAR_MAX {
            if self.index.is_empty() {
                self.index = self
                    .chunks
                    .iter()
                    .enumerate()
                    .map(|(i, (s, _))| (*s, i))
                    .collect();
            } else {
                self.index.insert(seq, at);
            }
        }
        at
    }
    fn insert(&mut self, seq: u64, chunk: (Vec<Bytes>, bool)) {
        match self.position(seq) {
            Some(at) => self.chunks[at].1 = chunk,
            None => {
                self.push(seq, chunk);
            }
        }
    }
    fn clear(&mut self) {
        self.chunks.clear();
        self.index.clear();
    }
    fn iter_mut(&mut self) -> impl Iterator<Item = (&u64, &mut (Vec<Bytes>, bool))> {
        self.chunks.iter_mut().map(|(s, c)| (&*s, c))
    }
}

/// The sequence number of the first chunk of a new list: room to grow both ways.
const FIRST_SEQ: u64 = 1 << 62;

#[derive(Debug, Clone)]
pub struct List {
    pub generation: u64,
    pub len: u64,
    first_seq: u64,
    chunks: u64,
    first_len: u64,
    /// Chunks read or changed by this command, written back by [`List::flush`].
    loaded: Loaded,
    /// The encoded elements of the end chunks as the descriptor held them (seq, bytes):
    /// decoded only if a command touches them, copied whole otherwise.
    ends_raw: [Option<(u64, Bytes)>; 2],
    /// The chunks that have a child record (first and last inclusive), as of the last
    /// decode or flush; `None` for none.
    stored: Option<(u64, u64)>,
}

impl List {
    pub fn new(txn: &mut Txn<'_>) -> List {
        List {
            generation: txn.new_generation(),
            len: 0,
            first_seq: FIRST_SEQ,
            chunks: 0,
            first_len: 0,
            loaded: Loaded::default(),
            ends_raw: [None, None],
            stored: None,
        }
    }

    pub fn decode(body: &Bytes) -> Result<List> {
        let mut r = Reader::new(body);
        let mut list = List {
            generation: r.u64()?,
            len: r.u64()?,
            first_seq: r.u64()?,
            chunks: r.u64()?,
            first_len: r.u64()?,
            loaded: Loaded::default(),
            ends_raw: [None, None],
            stored: None,
        };
        if list.chunks > 0 {
            let start = r.position();
            for _ in 0..list.first_len {
                r.skip()?;
            }
            let end = r.position();
            list.ends_raw[0] = Some((list.first_seq, body.slice(start..end)));
            if list.chunks > 1 {
                list.ends_raw[1] = Some((list.last_seq(), body.slice(end..)));
            }
        }
        list.stored = list.interior();
        Ok(list)
    }

    /// The raw encoded elements of chunk `seq` if the descriptor holds them.
    fn raw_end(&self, seq: u64) -> Option<&Bytes> {
        self.ends_raw
            .iter()
            .flatten()
            .find(|(s, _)| *s == seq)
            .map(|(_, b)| b)
    }

    /// The range of chunks that are neither first nor last, if any.
    fn interior(&self) -> Option<(u64, u64)> {
        (self.chunks >= 3).then(|| (self.first_seq + 1, self.last_seq() - 1))
    }

    /// The descriptor, with the end chunks; call [`List::flush`] first.
    pub fn encode(&self) -> Vec<u8> {
        let mut ends = Vec::new();
        if self.chunks > 0 {
            ends.push(self.first_seq);
        }
        if self.chunks > 1 {
            ends.push(self.last_seq());
        }
        let size = |seq: &u64| match self.loaded.get(seq) {
            Some((items, _)) => items.iter().map(|i| 4 + i.len()).sum(),
            None => self.raw_end(*seq).map_or(0, |b| b.len()),
        };
        let mut w = Writer::with_capacity(40 + ends.iter().map(size).sum::<usize>());
        w.u64(self.generation)
            .u64(self.len)
            .u64(self.first_seq)
            .u64(self.chunks)
            .u64(self.first_len);
        for seq in &ends {
            match self.loaded.get(seq) {
                Some((items, _)) => {
                    for item in items {
                        w.bytes(item);
                    }
                }
                None => {
                    if let Some(raw) = self.raw_end(*seq) {
                        w.0.extend_from_slice(raw);
                    }
                }
            }
        }
        w.0
    }

    fn chunk_key(&self, seq: u64) -> Vec<u8> {
        child_key_for(self.generation, seq)
    }

    /// The encoded elements of chunk `seq`: from the descriptor for an end chunk, else its
    /// child record.
    fn chunk_bytes(&self, txn: &mut Txn<'_>, seq: u64) -> Result<Option<Bytes>> {
        match self.raw_end(seq) {
            Some(raw) => Ok(Some(raw.clone())),
            None => txn.get(&self.chunk_key(seq)),
        }
    }

    fn chunk(&mut self, txn: &mut Txn<'_>, seq: u64) -> Result<&mut (Vec<Bytes>, bool)> {
        let at = match self.loaded.position(seq) {
            Some(at) => at,
            None => {
                let items = self.decode_chunk(txn, seq)?;
                self.loaded.push(seq, (items, false))
            }
        };
        Ok(&mut self.loaded.chunks[at].1)
    }

    /// The elements of chunk `seq` as stored (none if it has no record).
    fn decode_chunk(&self, txn: &mut Txn<'_>, seq: u64) -> Result<Vec<Bytes>> {
        let Some(bytes) = self.chunk_bytes(txn, seq)? else {
            return Ok(Vec::new());
        };
        let mut r = Reader::new(&bytes);
        let mut items = Vec::with_capacity(CHUNK as usize);
        while !r.is_empty() {
            items.push(r.shared(&bytes)?);
        }
        Ok(items)
    }

    fn last_seq(&self) -> u64 {
        self.first_seq + self.chunks - 1
    }

    fn last_len(&self) -> u64 {
        match self.chunks {
            0 => 0,
            1 => self.first_len,
            n => self.len - self.first_len - (n - 2) * CHUNK,
        }
    }

    /// (chunk seq, position) of index `i` (0-based, `i < len`).
    fn locate(&self, i: u64) -> (u64, usize) {
        if i < self.first_len {
            (self.first_seq, i as usize)
        } else {
            let j = i - self.first_len;
            (self.first_seq + 1 + j / CHUNK, (j % CHUNK) as usize)
        }
    }

    pub fn push_front(&mut self, txn: &mut Txn<'_>, item: Bytes) -> Result<()> {
        if self.chunks == 0 || self.first_len == CHUNK {
            if self.chunks > 0 {
                self.first_seq -= 1;
            }
            self.chunks += 1;
            self.first_len = 0;
            self.loaded.insert(self.first_seq, (Vec::new(), true));
        }
        let seq = self.first_seq;
        let chunk = self.chunk(txn, seq)?;
        chunk.0.insert(0, item);
        chunk.1 = true;
        self.first_len += 1;
        self.len += 1;
        Ok(())
    }

    pub fn push_back(&mut self, txn: &mut Txn<'_>, item: Bytes) -> Result<()> {
        if self.chunks == 0 {
            return self.push_front(txn, item);
        }
        if self.last_len() == CHUNK {
            self.chunks += 1;
            let seq = self.last_seq();
            self.loaded.insert(seq, (Vec::new(), true));
        }
        let seq = self.last_seq();
        let chunk = self.chunk(txn, seq)?;
        chunk.0.push(item);
        chunk.1 = true;
        if self.chunks == 1 {
            self.first_len += 1;
        }
        self.len += 1;
        Ok(())
    }

    pub fn pop_front(&mut self, txn: &mut Txn<'_>) -> Result<Option<Bytes>> {
        if self.len == 0 {
            return Ok(None);
        }
        let seq = self.first_seq;
        let chunk = self.chunk(txn, seq)?;
        let item = (!chunk.0.is_empty()).then(|| chunk.0.remove(0));
        chunk.1 = true;
        self.len -= 1;
        self.first_len -= 1;
        if self.first_len == 0 {
            self.chunks -= 1;
            self.first_seq += 1;
            self.first_len = match self.chunks {
                0 => 0,
                1 => self.len,
                _ => CHUNK,
            };
        }
        Ok(item)
    }

    pub fn pop_back(&mut self, txn: &mut Txn<'_>) -> Result<Option<Bytes>> {
        if self.len == 0 {
            return Ok(None);
        }
        let seq = self.last_seq();
        let chunk = self.chunk(txn, seq)?;
        let item = chunk.0.pop();
        chunk.1 = true;
        let emptied = chunk.0.is_empty();
        self.len -= 1;
        if self.chunks == 1 {
            self.first_len -= 1;
        }
        if emptied {
            self.chunks -= 1;
            if self.chunks == 0 {
                self.first_len = 0;
            }
        }
        Ok(item)
    }

    pub fn get(&mut self, txn: &mut Txn<'_>, index: u64) -> Result<Option<Bytes>> {
        if index >= self.len {
            return Ok(None);
        }
        let (seq, pos) = self.locate(index);
        Ok(self.chunk(txn, seq)?.0.get(pos).cloned())
    }

    /// Replaces the element at `index` (which must be < len).
    pub fn set(&mut self, txn: &mut Txn<'_>, index: u64, item: Bytes) -> Result<()> {
        let (seq, pos) = self.locate(index);
        let chunk = self.chunk(txn, seq)?;
        if let Some(slot) = chunk.0.get_mut(pos) {
            *slot = item;
            chunk.1 = true;
        }
        Ok(())
    }

    /// Elements `start..=end` (clamped to the list).
    pub fn range(&mut self, txn: &mut Txn<'_>, start: u64, end: u64) -> Result<Vec<Bytes>> {
        Ok(self.slices(txn, start, end)?.to_bytes())
    }

    /// The elements from `start` to `end` inclusive as slices of the chunks holding them.
    pub fn slices(&mut self, txn: &mut Txn<'_>, start: u64, end: u64) -> Result<Slices> {
        if self.len == 0 || start >= self.len || start > end {
            return Ok(Slices::default());
        }
        let end = end.min(self.len - 1);
        let mut out = Slices::with_capacity((end - start + 1) as usize);
        let mut i = start;
        while i <= end {
            let (seq, pos) = self.locate(i);
            let want = (end - i + 1) as usize;
            let before = out.len();
            match self.loaded.get(&seq) {
                Some((items, _)) => {
                    for item in items.iter().skip(pos).take(want) {
                        out.push(item.clone());
                    }
                }
                // A chunk only read is not decoded whole: only the elements asked for are
                // cut out of the record.
                None => {
                    if let Some(bytes) = self.chunk_bytes(txn, seq)? {
                        let mut r = Reader::new(&bytes);
                        for _ in 0..pos {
                            r.skip()?;
                        }
                        let buffer = out.add_buffer(bytes.clone());
                        while out.len() - before < want && !r.is_empty() {
                            out.push_span(buffer, r.span()?);
                        }
                    }
                }
            }
            if out.len() == before {
                break;
            }
            i += (out.len() - before) as u64;
        }
        Ok(out)
    }

    /// The indexes of the elements equal to `value`, scanning from the head (`from_tail`:
    /// from the tail), at most `limit` of them, in scan order. Blocks of elements are cut from
    /// the chunk records without decoding them whole.
    pub fn find(
        &mut self,
        txn: &mut Txn<'_>,
        value: &[u8],
        from_tail: bool,
        limit: usize,
    ) -> Result<Vec<u64>> {
        const BLOCK: u64 = 1024;
        let mut found = Vec::new();
        let mut done = 0;
        while done < self.len && found.len() < limit {
            let n = BLOCK.min(self.len - done);
            let start = if from_tail { self.len - done - n } else { done };
            let block = self.slices(txn, start, start + n - 1)?;
            let matches = block
                .iter()
                .enumerate()
                .filter(|(_, x)| *x == value)
                .map(|(j, _)| start + j as u64);
            if from_tail {
                let mut in_block: Vec<u64> = matches.collect();
                in_block.reverse();
                found.extend(in_block);
            } else {
                found.extend(matches);
            }
            done += n;
        }
        found.truncate(limit);
        Ok(found)
    }

    /// Replaces elements `start..end` (`end` exclusive, at most `len`) by `items`, moving
    /// the elements on the shorter side of the range: the part before `start` or the part
    /// from `end` on, whichever is smaller, is popped and pushed back, and the rest of the
    /// list is not touched. An LINSERT or LREM near an end of a long list so costs what lies
    /// between it and that end, as in Redis's quicklist.
    pub fn splice(
        &mut self,
        txn: &mut Txn<'_>,
        start: u64,
        end: u64,
        items: Vec<Bytes>,
    ) -> Result<()> {
        let after = self.len - end;
        if after <= start {
            let mut tail = items;
            if after > 0 {
                tail.extend(self.range(txn, end, self.len - 1)?);
            }
            while self.len > start {
                self.pop_back(txn)?;
            }
            for item in tail {
                self.push_back(txn, item)?;
            }
        } else {
            let mut head = if start > 0 {
                self.range(txn, 0, start - 1)?
            } else {
                Vec::new()
            };
            head.extend(items);
            for _ in 0..end {
                self.pop_front(txn)?;
            }
            for item in head.into_iter().rev() {
                self.push_front(txn, item)?;
            }
        }
        Ok(())
    }

    pub fn all(&mut self, txn: &mut Txn<'_>) -> Result<Vec<Bytes>> {
        self.range(txn, 0, self.len.saturating_sub(1))
    }

    /// Replaces the whole content by `items`, repacked into full chunks.
    pub fn rewrite(&mut self, txn: &mut Txn<'_>, items: Vec<Bytes>) -> Result<()> {
        self.drop_children(txn)?;
        self.stored = None;
        self.ends_raw = [None, None];
        self.loaded.clear();
        self.len = 0;
        self.chunks = 0;
        self.first_len = 0;
        self.first_seq = FIRST_SEQ;
        for item in items {
            self.push_back(txn, item)?;
        }
        Ok(())
    }

    /// Writes the changed interior chunks back into the transaction as child records, moves
    /// chunks that became ends into the descriptor (and ends that became interior out of
    /// it), and deletes the records of chunks no longer in the list.
    pub fn flush(&mut self, txn: &mut Txn<'_>) -> Result<()> {
        if self.chunks > 0 {
            // The ends go into the descriptor: have them at hand (an end that was interior
            // is read from its record).
            for seq in [self.first_seq, self.last_seq()] {
                if self.raw_end(seq).is_none() {
                    self.chunk(txn, seq)?;
                }
            }
        }
        let had_record = |seq: u64, stored: Option<(u64, u64)>| {
            stored.is_some_and(|(lo, hi)| (lo..=hi).contains(&seq))
        };
        let interior = self.interior();
        for (seq, (items, dirty)) in self.loaded.iter_mut() {
            let key = child_key_for(self.generation, *seq);
            if had_record(*seq, interior) {
                if *dirty || !had_record(*seq, self.stored) {
                    let mut w = Writer::with_capacity(items.iter().map(|i| 4 + i.len()).sum());
                    for item in items.iter() {
                        w.bytes(item);
                    }
                    txn.put(key, w.0);
                }
            } else if had_record(*seq, self.stored) {
                txn.delete(key);
            }
            *dirty = false;
        }
        // An end chunk never touched that a push has made interior moves out of the
        // descriptor into its own record, bytes as they were.
        for (seq, raw) in self.ends_raw.iter().flatten() {
            if !self.loaded.contains_key(seq)
                && had_record(*seq, interior)
                && !had_record(*seq, self.stored)
            {
                txn.put(child_key_for(self.generation, *seq), raw.clone());
            }
        }
        self.stored = interior;
        Ok(())
    }

    /// Where the chunk records are (the interior chunks as last stored).
    pub fn child_range(&self) -> Option<super::ChildRange> {
        self.stored.map(|(lo, hi)| super::ChildRange {
            generation: self.generation,
            prefix: b'l',
            from: lo,
            to: hi + 1,
        })
    }

    /// Deletes every child record (the interior chunks as last stored).
    pub fn drop_children(&self, txn: &mut Txn<'_>) -> Result<()> {
        if let Some((lo, hi)) = self.stored {
            for seq in lo..=hi {
                txn.delete(self.chunk_key(seq));
            }
        }
        Ok(())
    }
}

fn child_key_for(generation: u64, seq: u64) -> Vec<u8> {
    let mut part = vec![b'l'];
    part.extend_from_slice(&seq.to_be_bytes());
    child_key(generation, &part)
}
