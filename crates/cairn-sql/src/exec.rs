//! The executor: a [`Plan`] run over the database, row at a time.
//!
//! Each operator is an iterator pulling rows from its inputs' iterators (the Volcano model).
//! cairn chose rows over batches deliberately: the statements the PostgreSQL door mostly
//! serves touch a few rows through an index, where a row-at-a-time pipeline starts and stops
//! cheaply and a `LIMIT` stops its inputs early; and every operator stays a short, plain
//! loop over [`Value`]s, which the optimizer and MVCC issues build on. The analytical
//! queries of issue 27 will measure whether batches must come to the hot operators (scan,
//! filter, hash aggregation); the operator boundary here is where they would.
//!
//! Rows are read where they lie: a sequential scan decodes each row from its copy of the
//! page, an index scan from the latched heap page, and a filter straight over a scan tests
//! each row in one reused buffer, so that a refused row costs no allocation. Operators read
//! their operands in place (`Expr::operand`) and a projection moves bare columns rather
//! than copying them: allocation, not computation, is what a row costs in this model.
//!
//! Operators that need all of an input before their first row (the right side of a join,
//! aggregation, sort, the right side of `INTERSECT`/`EXCEPT`) hold it in memory; sorts and
//! hash joins spill past `work_mem` ([`crate::spill`]).
//!
//! An [`Env`] is what evaluation needs beyond the row: the database, the rows of the queries
//! around a correlated subquery, and the cached rows of each uncorrelated subquery, which
//! runs once per statement.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use std::ops::Bound;

use cairn_page::{encode_key, KeyValue};

use crate::aggregate::Accumulator;
use crate::catalog::{IndexDef, TableDef};
use crate::database::Database;
use crate::error::{Error, Result, SqlState};
use crate::expr::{Expr, Subquery};
use crate::index::{key_value, tid_of};
use crate::plan::{JoinKind, Plan, SetOpKind, SortKey};
use crate::row::{self, group_key};
use crate::value::{DataType, Value};

/// A row of values.
pub type Row = Vec<Value>;

/// The rows an operator produces.
pub type Rows<'a> = Box<dyn Iterator<Item = Result<Row>> + 'a>;

/// The rows of each uncorrelated subquery a statement has run, by subquery id.
pub type SubqueryCache = RefCell<HashMap<usize, Rc<Vec<Row>>>>;

/// What EXPLAIN ANALYZE counts of one operator: rows given, time spent (its inputs'
/// included), and how many times it ran.
#[derive(Debug, Clone, Copy, Default)]
pub struct OperatorStats {
    pub rows: u64,
    pub time: Duration,
    pub loops: u64,
}

/// The counts of each operator of a plan run, by the operator's address in the plan.
pub type PlanStats = RefCell<HashMap<usize, OperatorStats>>;

/// What evaluation needs beyond the row.
pub struct Env<'a> {
    pub(crate) db: &'a Database,
    /// The current rows of the queries around a correlated subquery, innermost last.
    outer: Vec<&'a [Value]>,
    cache: &'a SubqueryCache,
    /// Where operators count their rows and time, under EXPLAIN ANALYZE.
    stats: Option<&'a PlanStats>,
    /// The values of the statement's parameters.
    params: &'a [Value],
    /// The memory budget of each sort and hash join (`work_mem`).
    work_mem: usize,
}

impl<'a> Env<'a> {
    pub fn new(db: &'a Database, cache: &'a SubqueryCache) -> Env<'a> {
        Env {
            db,
            outer: Vec::new(),
            cache,
            stats: None,
            params: &[],
            work_mem: crate::spill::DEFAULT_WORK_MEM,
        }
    }

    /// This environment, with `bytes` as each sort's and hash join's memory budget.
    pub fn with_work_mem(self, bytes: usize) -> Env<'a> {
        Env {
            work_mem: bytes,
            ..self
        }
    }

    /// This environment, for a statement run with `params` as its parameters' values.
    pub fn with_params(self, params: &'a [Value]) -> Env<'a> {
        Env { params, ..self }
    }

    /// The value of parameter `i` (0-based), where it is.
    pub fn param_ref(&self, i: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.params.get(i).unwrap_or(&NULL)
    }

    /// The value of parameter `i` (0-based).
    pub fn param(&self, i: usize) -> Value {
        self.params.get(i).cloned().unwrap_or(Value::Null)
    }

    /// This environment, with every operator counting its rows and time into `stats`.
    pub fn counting(self, stats: &'a PlanStats) -> Env<'a> {
        Env {
            stats: Some(stats),
            ..self
        }
    }

    /// The current row of the query `depth` levels out (1: the one around this one).
    pub fn outer(&self, depth: usize) -> &[Value] {
        self.outer[self.outer.len() - depth]
    }

    /// The rows of `subquery` for the current `row` of the query around it.
    pub fn subquery_rows(&self, subquery: &Subquery, row: &[Value]) -> Result<Rc<Vec<Row>>> {
        if !subquery.correlated {
            if let Some(rows) = self.cache.borrow().get(&subquery.id) {
                return Ok(Rc::clone(rows));
            }
        }
        let mut outer = self.outer.clone();
        outer.push(row);
        let inner = Env {
            db: self.db,
            outer,
            cache: self.cache,
            stats: self.stats,
            params: self.params,
            work_mem: self.work_mem,
        };
        let rows = Rc::new(run(&subquery.plan, &inner)?.collect::<Result<Vec<_>>>()?);
        if !subquery.correlated {
            self.cache
                .borrow_mut()
                .insert(subquery.id, Rc::clone(&rows));
        }
        Ok(rows)
    }
}

/// The rows of `plan`.
pub fn run<'a>(plan: &'a Plan, env: &'a Env<'a>) -> Result<Rows<'a>> {
    let Some(stats) = env.stats else {
        return operator(plan, env);
    };
    let start = Instant::now();
    let rows = operator(plan, env)?;
    let key = plan as *const Plan as usize;
    {
        let mut stats = stats.borrow_mut();
        let entry = stats.entry(key).or_default();
        entry.loops += 1;
        entry.time += start.elapsed();
    }
    Ok(Box::new(Counted { rows, key, stats }))
}

/// An operator's rows, counted with the time taken to produce them.
struct Counted<'a> {
    rows: Rows<'a>,
    key: usize,
    stats: &'a PlanStats,
}

impl Iterator for Counted<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let start = Instant::now();
        let row = self.rows.next();
        let mut stats = self.stats.borrow_mut();
        let entry = stats.entry(self.key).or_default();
        entry.time += start.elapsed();
        if matches!(row, Some(Ok(_))) {
            entry.rows += 1;
        }
        row
    }
}

/// The rows of the operator at the root of `plan`.
fn operator<'a>(plan: &'a Plan, env: &'a Env<'a>) -> Result<Rows<'a>> {
    Ok(match plan {
        Plan::Scan { table, needed } => Box::new(TableScan {
            scan: env.db.store.heap(table.heap)?.scan(),
            needed: needed.as_deref(),
        }),
        Plan::IndexScan {
            table,
            index,
            prefix,
            lower,
            upper,
            needed,
        } => index_scan(
            env,
            table,
            index,
            (prefix, lower.as_ref(), upper.as_ref()),
            needed.as_deref(),
        )?,
        Plan::Values { rows } => Box::new(
            rows.iter()
                .map(move |exprs| exprs.iter().map(|e| e.eval(&[], env)).collect()),
        ),
        Plan::Filter { input, predicate } if reads_no_row(predicate) => {
            // A condition of no row is decided once, before the input runs (PostgreSQL's
            // one-time filter): false, and the input never runs.
            if predicate.eval(&[], env)? == Value::Bool(true) {
                run(input, env)?
            } else {
                Box::new(std::iter::empty())
            }
        }
        // Under EXPLAIN ANALYZE the scan runs as its own operator, to be counted.
        Plan::Filter { input, predicate }
            if matches!(input.as_ref(), Plan::Scan { .. }) && env.stats.is_none() =>
        {
            let Plan::Scan { table, needed } = input.as_ref() else {
                unreachable!("matched above")
            };
            Box::new(FilteredTableScan {
                scan: env.db.store.heap(table.heap)?.scan(),
                needed: needed.as_deref(),
                predicate,
                env,
                row: Vec::new(),
            })
        }
        Plan::Filter { input, predicate } => {
            Box::new(run(input, env)?.filter_map(move |row| match row {
                Ok(row) => match predicate.eval(&row, env) {
                    Ok(Value::Bool(true)) => Some(Ok(row)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                },
                Err(e) => Some(Err(e)),
            }))
        }
        Plan::Project { input, exprs } => {
            let moved = moved_columns(exprs);
            Box::new(run(input, env)?.map(move |row| {
                let mut row = row?;
                let mut out = exprs
                    .iter()
                    .zip(&moved)
                    .map(|(e, moved)| match moved {
                        Some(_) => Ok(Value::Null),
                        None => e.eval(&row, env),
                    })
                    .collect::<Result<Row>>()?;
                for (slot, moved) in out.iter_mut().zip(&moved) {
                    if let Some(column) = moved {
                        *slot = std::mem::take(&mut row[*column]);
                    }
                }
                Ok(out)
            }))
        }
        Plan::Join {
            left,
            right,
            kind,
            on,
        } => join(env, left, right, *kind, on.as_ref())?,
        Plan::LateralJoin {
            left,
            right,
            kind,
            on,
        } => lateral_join(env, left, right, *kind, on.as_ref())?,
        Plan::HashJoin {
            left,
            right,
            kind,
            left_keys,
            right_keys,
            residual,
        } => hash_join(
            env,
            left,
            right,
            *kind,
            left_keys,
            right_keys,
            residual.as_ref(),
        )?,
        Plan::Aggregate {
            input,
            groups,
            aggs,
        } => aggregate(env, input, groups, aggs)?,
        Plan::Sort { input, keys, top } => {
            let top = count(top.as_ref(), "LIMIT", "2201W", env)?;
            let rows = match top {
                Some(k) => top_n(keys, k, run(input, env)?)?,
                None => {
                    let order: crate::spill::Order<'a> = Box::new(move |a: &Row, b: &Row| {
                        for key in keys {
                            let o = compare_for_sort(&a[key.column], &b[key.column], key)?;
                            if o.is_ne() {
                                return Ok(o);
                            }
                        }
                        Ok(Ordering::Equal)
                    });
                    let dir = env.db.temp_dir();
                    return crate::spill::sort(
                        run(input, env)?,
                        order,
                        env.work_mem,
                        &dir,
                        &mut || env.db.count_spill(),
                    );
                }
            };
            Box::new(rows.into_iter().map(Ok))
        }
        Plan::Limit {
            input,
            offset,
            limit,
        } => {
            let offset = count(offset.as_ref(), "OFFSET", "2201X", env)?.unwrap_or(0);
            let limit = count(limit.as_ref(), "LIMIT", "2201W", env)?;
            let rows = run(input, env)?.skip(offset);
            match limit {
                Some(n) => Box::new(rows.take(n)),
                None => Box::new(rows),
            }
        }
        Plan::Distinct { input } => distinct(run(input, env)?),
        Plan::DistinctOn { input, columns } => {
            let mut seen = HashSet::new();
            Box::new(run(input, env)?.filter(move |row| match row {
                Ok(row) => {
                    let key: Row = columns.iter().map(|&c| row[c].clone()).collect();
                    seen.insert(group_key(&key))
                }
                Err(_) => true,
            }))
        }
        Plan::Series { start, stop, step } => series(env, start, stop, step.as_ref())?,
        Plan::Unnest { array } => match array.eval(&[], env)? {
            Value::Array(array) => Box::new(array.items.into_iter().map(|v| Ok(vec![v]))),
            _ => Box::new(std::iter::empty()),
        },
        Plan::Window { input, calls } => {
            let rows = run(input, env)?.collect::<Result<Vec<_>>>()?;
            Box::new(crate::window::run(calls, rows, env)?.into_iter().map(Ok))
        }
        Plan::RecursiveCte {
            id,
            base,
            step,
            all,
        } => recursive(env, *id, base, step, *all)?,
        Plan::WorkTable { id, .. } => {
            let rows = env.cache.borrow().get(id).cloned().unwrap_or_default();
            Box::new((0..rows.len()).map(move |i| Ok(rows[i].clone())))
        }
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => set_op(env, *op, *all, left, right)?,
    })
}

/// An index scan's key prefix values and its range's ends (each with whether it is inclusive).
type IndexBounds<'p> = (
    &'p [Expr],
    Option<&'p (Expr, bool)>,
    Option<&'p (Expr, bool)>,
);

/// The part of an index an index scan reads, its bounds evaluated.
enum IndexRange {
    /// A bound is NULL: no row (no comparison with NULL holds).
    Empty,
    /// A bound's value is of another kind than its column: the index cannot find the rows,
    /// the whole heap is read and the filter above decides.
    Unusable,
    /// A hash index's key.
    Hash(Vec<u8>),
    /// A B+tree's key range.
    Tree(Bound<Vec<u8>>, Bound<Vec<u8>>),
}

/// The range of `index` the bounds of an index scan give (see [`Plan::IndexScan`]).
fn index_range(
    env: &Env<'_>,
    table: &TableDef,
    index: &IndexDef,
    (prefix, lower, upper): IndexBounds<'_>,
) -> Result<IndexRange> {
    let column_type = |k: usize| table.columns[index.columns[k].0].data_type;
    let mut key = Vec::new();
    let mut values = Vec::new();
    for (k, e) in prefix.iter().enumerate() {
        values.push((e.eval(&[], env)?, column_type(k)));
    }
    let range_type = column_type(prefix.len().min(index.columns.len() - 1));
    let lower = lower.map(|(e, _)| e.eval(&[], env)).transpose()?;
    let upper = upper.map(|(e, _)| e.eval(&[], env)).transpose()?;
    let bounds = values
        .iter()
        .map(|(v, t)| (v, *t))
        .chain(lower.iter().map(|v| (v, range_type)))
        .chain(upper.iter().map(|v| (v, range_type)));
    let mut usable = true;
    for (value, ty) in bounds {
        if value.is_null() {
            return Ok(IndexRange::Empty);
        }
        usable &= value.data_type().map(key_class) == Some(key_class(ty));
    }
    if !usable {
        return Ok(IndexRange::Unusable);
    }
    let prefix_values: Vec<KeyValue> = values.iter().map(|(v, _)| key_value(v)).collect();
    encode_key(&prefix_values, &mut key);
    if index.hash {
        // The planner gives a hash index its one column's value, never a range.
        return Ok(IndexRange::Hash(key));
    }
    let with = |v: &Value, tail: &[u8]| {
        let mut bytes = key.clone();
        encode_key(&[key_value(v)], &mut bytes);
        bytes.extend_from_slice(tail);
        bytes
    };
    // Past every key that starts with the prefix: key bytes are never 0xFF at a value's start.
    let lower_key = match &lower {
        Some(v) => Bound::Included(with(v, &[])),
        None if key.is_empty() => Bound::Unbounded,
        None => Bound::Included(key.clone()),
    };
    let upper_key = match &upper {
        Some(v) => Bound::Excluded(with(v, &[0xFF])),
        None if key.is_empty() => Bound::Unbounded,
        None => Bound::Excluded([key.as_slice(), &[0xFF]].concat()),
    };
    Ok(IndexRange::Tree(lower_key, upper_key))
}

/// The tuple ids of the rows of `table` an index scan would find, in index order; `None`
/// when the index cannot find them (the whole heap must be read).
pub(crate) fn index_tids(
    env: &Env<'_>,
    table: &TableDef,
    index: &IndexDef,
    bounds: IndexBounds<'_>,
) -> Result<Option<Vec<cairn_page::TupleId>>> {
    match index_range(env, table, index, bounds)? {
        IndexRange::Empty => Ok(Some(Vec::new())),
        IndexRange::Unusable => Ok(None),
        IndexRange::Hash(key) => hash_tids(env, index, &key).map(Some),
        IndexRange::Tree(lower, upper) => {
            let tree = env.db.store.btree(index.root);
            let mut entries = tree.range(
                lower.as_ref().map(Vec::as_slice),
                upper.as_ref().map(Vec::as_slice),
            );
            let mut tids = Vec::new();
            while let Some(entry) = entries.next_entry() {
                tids.push(tid_of(entry?.1)?);
            }
            Ok(Some(tids))
        }
    }
}

/// The tuple ids a hash index holds under `key`.
fn hash_tids(env: &Env<'_>, index: &IndexDef, key: &[u8]) -> Result<Vec<cairn_page::TupleId>> {
    env.db
        .store
        .hash_index(index.root)
        .get(key)?
        .iter()
        .map(|v| tid_of(v))
        .collect()
}

/// The rows of `table` an index scan finds (see [`Plan::IndexScan`] and [`IndexRange`]).
fn index_scan<'a>(
    env: &'a Env<'a>,
    table: &'a TableDef,
    index: &'a IndexDef,
    bounds: IndexBounds<'_>,
    needed: Option<&'a [bool]>,
) -> Result<Rows<'a>> {
    let heap = env.db.store.heap(table.heap)?;
    let (lower_key, upper_key) = match index_range(env, table, index, bounds)? {
        IndexRange::Empty => return Ok(Box::new(std::iter::empty())),
        IndexRange::Unusable => {
            return Ok(Box::new(TableScan {
                scan: heap.scan(),
                needed,
            }))
        }
        IndexRange::Hash(key) => {
            let tids = hash_tids(env, index, &key)?;
            let rows = heap.get_many_with(&tids, |bytes| row::decode_needed(bytes, needed))?;
            return Ok(Box::new(rows.into_iter().flatten().map(Ok)));
        }
        IndexRange::Tree(lower, upper) => (lower, upper),
    };
    let tree = env.db.store.btree(index.root);
    let mut entries = tree.range(
        lower_key.as_ref().map(Vec::as_slice),
        upper_key.as_ref().map(Vec::as_slice),
    );
    // The rows a chunk of entries points at, fetched together (a page read once for the
    // tuples on it), each decoded where it lies.
    let mut done = false;
    Ok(Box::new(
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut chunk = || -> Result<Vec<Result<Row>>> {
                crate::interrupt::check()?;
                let mut tids = Vec::new();
                while tids.len() < FETCH_CHUNK {
                    match entries.next_entry() {
                        Some(entry) => tids.push(tid_of(entry?.1)?),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                Ok(heap
                    .get_many_with(&tids, |bytes| row::decode_needed(bytes, needed))?
                    .into_iter()
                    .flatten()
                    .map(Ok)
                    .collect())
            };
            Some(chunk().unwrap_or_else(|e| {
                done = true;
                vec![Err(e)]
            }))
        })
        .flatten(),
    ))
}

/// For each expression of a projection, the input column it can take from the input row
/// rather than copy: a bare column that no other expression reads.
fn moved_columns(exprs: &[Expr]) -> Vec<Option<usize>> {
    let mut reads: HashMap<usize, usize> = HashMap::new();
    for e in exprs {
        e.visit(&mut |e| {
            if let Expr::Column(c) = e {
                *reads.entry(*c).or_default() += 1;
            }
        });
    }
    exprs
        .iter()
        .map(|e| match e {
            Expr::Column(c) if reads[c] == 1 => Some(*c),
            _ => None,
        })
        .collect()
}

/// A sequential scan's rows, each decoded (only its `needed` columns) straight from the
/// scan's copy of its page.
struct TableScan<'a> {
    scan: cairn_page::HeapScan<'a>,
    needed: Option<&'a [bool]>,
}

impl Iterator for TableScan<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        let needed = self.needed;
        if let Err(e) = crate::interrupt::check() {
            return Some(Err(e));
        }
        Some(match self.scan.next_tuple()? {
            Ok((_, bytes)) => row::decode_needed(&bytes, needed),
            Err(e) => Err(e.into()),
        })
    }
}

/// A sequential scan under a filter: each row decoded into one buffer and tested there, so
/// that a row the filter refuses costs no allocation; a row it keeps takes the buffer with
/// it.
struct FilteredTableScan<'a> {
    scan: cairn_page::HeapScan<'a>,
    needed: Option<&'a [bool]>,
    predicate: &'a Expr,
    env: &'a Env<'a>,
    row: Row,
}

impl Iterator for FilteredTableScan<'_> {
    type Item = Result<Row>;

    fn next(&mut self) -> Option<Result<Row>> {
        loop {
            if let Err(e) = crate::interrupt::check() {
                return Some(Err(e));
            }
            let decoded = match self.scan.next_tuple()? {
                Ok((_, bytes)) => row::decode_needed_into(&bytes, self.needed, &mut self.row),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = decoded {
                return Some(Err(e));
            }
            match self.predicate.eval(&self.row, self.env) {
                Ok(Value::Bool(true)) => return Some(Ok(std::mem::take(&mut self.row))),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// How many index entries an index scan fetches the rows of at a time.
const FETCH_CHUNK: usize = 256;

/// The kind of key a value makes: numbers of one kind compare by key bytes, not across.
fn key_class(ty: DataType) -> u8 {
    match ty {
        DataType::Int2
        | DataType::Int4
        | DataType::Int8
        | DataType::Oid
        | DataType::RegClass
        | DataType::RegType
        | DataType::RegNamespace => 0,
        DataType::Float4 | DataType::Float8 => 1,
        DataType::Numeric => 2,
        DataType::Text => 3,
        DataType::Bool => 4,
        DataType::Bpchar => 5,
        DataType::Bytea => 6,
        DataType::Date => 7,
        DataType::Time => 8,
        DataType::Timestamp => 9,
        DataType::TimestampTz => 10,
        DataType::Interval => 11,
        DataType::Uuid => 12,
        DataType::Json => 13,
        DataType::Jsonb => 14,
        DataType::Array(_) => 15,
    }
}

/// The value of a LIMIT or OFFSET count (`word`): `None` for NULL, `state` if negative.
fn count(
    expr: Option<&Expr>,
    word: &str,
    state: &'static str,
    env: &Env<'_>,
) -> Result<Option<usize>> {
    let Some(expr) = expr else {
        return Ok(None);
    };
    match expr.eval(&[], env)?.cast(DataType::Int8)? {
        Value::Int8(n) if n < 0 => Err(Error::new(
            SqlState(state),
            format!("{word} must not be negative"),
        )),
        Value::Int8(n) => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
        _ => Ok(None),
    }
}

/// `WITH RECURSIVE`: the base rows, then each step's over the previous step's, until a
/// step gives no (new) row. The step reads its input as work table `id`, kept in the
/// statement's subquery cache.
fn recursive<'a>(
    env: &'a Env<'a>,
    id: usize,
    base: &'a Plan,
    step: &'a Plan,
    all: bool,
) -> Result<Rows<'a>> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut keep = |rows: Vec<Row>| -> Vec<Row> {
        if all {
            return rows;
        }
        rows.into_iter()
            .filter(|r| seen.insert(group_key(r)))
            .collect()
    };
    let mut working = keep(run(base, env)?.collect::<Result<Vec<_>>>()?);
    let mut result = working.clone();
    while !working.is_empty() {
        env.cache.borrow_mut().insert(id, Rc::new(working));
        let next = keep(run(step, env)?.collect::<Result<Vec<_>>>()?);
        result.extend(next.iter().cloned());
        working = next;
    }
    env.cache.borrow_mut().remove(&id);
    Ok(Box::new(result.into_iter().map(Ok)))
}

/// `generate_series`: the values from `start` toward `stop` by `step`; none if an argument
/// is NULL, `22023` for a zero step.
fn series<'a>(
    env: &'a Env<'a>,
    start: &Expr,
    stop: &Expr,
    step: Option<&Expr>,
) -> Result<Rows<'a>> {
    let start = start.eval(&[], env)?;
    let stop = stop.eval(&[], env)?;
    let step = match step {
        Some(s) => s.eval(&[], env)?,
        None => Value::Int4(1).cast(start.data_type().unwrap_or(DataType::Int4))?,
    };
    if start.is_null() || stop.is_null() || step.is_null() {
        return Ok(Box::new(std::iter::empty()));
    }
    let direction = step.compare(&Value::Int4(0))?.unwrap_or(Ordering::Equal);
    if direction.is_eq() {
        return Err(Error::new(
            SqlState::INVALID_PARAMETER_VALUE,
            "step size cannot equal zero",
        ));
    }
    let mut next = Some(start);
    Ok(Box::new(std::iter::from_fn(move || {
        let value = next.take()?;
        if let Err(e) = crate::interrupt::check() {
            return Some(Err(e));
        }
        match value.compare(&stop) {
            // Going up, stop past `stop`; going down, below it.
            Ok(Some(o)) if o != direction => {}
            Ok(_) => return None,
            Err(e) => return Some(Err(e)),
        }
        // Past the type's range the series ends, as PostgreSQL's does.
        next = value.arith(crate::value::ArithOp::Add, &step).ok();
        Some(Ok(vec![value]))
    })))
}

/// Whether `expr` reads nothing of its row: no column, no correlated subquery.
fn reads_no_row(expr: &Expr) -> bool {
    let mut reads = false;
    expr.visit(&mut |e| match e {
        Expr::Column(_) => reads = true,
        Expr::Subquery(s) if s.correlated => reads = true,
        // A volatile function is called for each row, as PostgreSQL calls it.
        Expr::Call(f, _) if f.is_volatile() => reads = true,
        _ => {}
    });
    !reads
}

/// Nested-loop join: the right side held in memory, each left row paired with each right
/// row; the unmatched rows of an outer side padded with NULLs.
fn join<'a>(
    env: &'a Env<'a>,
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    on: Option<&'a Expr>,
) -> Result<Rows<'a>> {
    let right_rows: Vec<Row> = run(right, env)?.collect::<Result<_>>()?;
    let (left_width, right_width) = (left.width(), right.width());
    let right_rows = Rc::new(right_rows);
    let matched_right = Rc::new(RefCell::new(vec![false; right_rows.len()]));
    let pairs = {
        let right_rows = Rc::clone(&right_rows);
        let matched_right = Rc::clone(&matched_right);
        run(left, env)?.flat_map(move |left_row| -> Vec<Result<Row>> {
            let left_row = match left_row {
                Ok(row) => row,
                Err(e) => return vec![Err(e)],
            };
            let mut out = Vec::new();
            for (i, right_row) in right_rows.iter().enumerate() {
                let mut joined = left_row.clone();
                joined.extend_from_slice(right_row);
                let keep = match on {
                    None => true,
                    Some(on) => match on.eval(&joined, env) {
                        Ok(v) => v == Value::Bool(true),
                        Err(e) => return vec![Err(e)],
                    },
                };
                if keep {
                    matched_right.borrow_mut()[i] = true;
                    out.push(Ok(joined));
                }
            }
            if out.is_empty() && matches!(kind, JoinKind::Left | JoinKind::Full) {
                let mut padded = left_row;
                padded.resize(left_width + right_width, Value::Null);
                out.push(Ok(padded));
            }
            out
        })
    };
    if !matches!(kind, JoinKind::Right | JoinKind::Full) {
        return Ok(Box::new(pairs));
    }
    // The unmatched right rows, once every left row has been seen.
    let unmatched = std::iter::once(()).flat_map(move |()| {
        let matched = matched_right.borrow();
        right_rows
            .iter()
            .zip(matched.iter())
            .filter(|(_, m)| !**m)
            .map(|(r, _)| {
                let mut padded = vec![Value::Null; left_width];
                padded.extend_from_slice(r);
                Ok(padded)
            })
            .collect::<Vec<_>>()
    });
    Ok(Box::new(pairs.chain(unmatched)))
}

/// LATERAL join: for each left row, the right side run with that row as its outer row.
fn lateral_join<'a>(
    env: &'a Env<'a>,
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    on: Option<&'a Expr>,
) -> Result<Rows<'a>> {
    let right_width = right.width();
    Ok(Box::new(run(left, env)?.flat_map(
        move |left_row| -> Vec<Result<Row>> {
            let join = || -> Result<Vec<Result<Row>>> {
                let left_row = left_row?;
                let mut outer = env.outer.clone();
                outer.push(&left_row);
                let inner = Env {
                    db: env.db,
                    outer,
                    cache: env.cache,
                    stats: env.stats,
                    params: env.params,
                    work_mem: env.work_mem,
                };
                let mut out = Vec::new();
                for right_row in run(right, &inner)? {
                    let mut joined = left_row.clone();
                    joined.extend(right_row?);
                    let keep = match on {
                        Some(on) => on.eval(&joined, env)? == Value::Bool(true),
                        None => true,
                    };
                    if keep {
                        out.push(Ok(joined));
                    }
                }
                if out.is_empty() && kind == JoinKind::Left {
                    let mut padded = left_row;
                    padded.resize(padded.len() + right_width, Value::Null);
                    out.push(Ok(padded));
                }
                Ok(out)
            };
            join().unwrap_or_else(|e| vec![Err(e)])
        },
    )))
}

/// Hash join: the right rows in a hash table by key, each left row looking its key up. A
/// key holding NULL matches nothing; keys that hash alike are compared for equality, so
/// numbers of different types meet as SQL compares them. A right side larger than
/// `work_mem` makes it a Grace hash join ([`crate::spill`]): both sides partitioned to
/// temporary files by key, each pair of partitions joined in memory.
#[allow(clippy::too_many_arguments)]
fn hash_join<'a>(
    env: &'a Env<'a>,
    left: &'a Plan,
    right: &'a Plan,
    kind: JoinKind,
    left_keys: &'a [Expr],
    right_keys: &'a [Expr],
    residual: Option<&'a Expr>,
) -> Result<Rows<'a>> {
    let join = HashJoin {
        env,
        kind,
        left_keys,
        residual,
        right_width: right.width(),
    };
    let mut table: JoinTable = HashMap::new();
    let mut size = 0;
    let mut partitions: Option<Vec<crate::spill::SpillFile>> = None;
    for row in run(right, env)? {
        let row = row?;
        let Some(key) = join.key(right_keys, &row)? else {
            continue;
        };
        if let Some(parts) = &mut partitions {
            let n = parts.len();
            parts[partition_of(&hash_key(&key), n)].push(&row)?;
            continue;
        }
        size += crate::spill::row_size(&row) + crate::spill::row_size(&key);
        table.entry(hash_key(&key)).or_default().push((key, row));
        if size > env.work_mem {
            partitions = Some(join.spill_table(std::mem::take(&mut table))?);
        }
    }
    let Some(right_parts) = partitions else {
        return Ok(Box::new(run(left, env)?.flat_map(move |left_row| {
            left_row
                .and_then(|l| join.probe(&table, l))
                .unwrap_or_else(|e| vec![Err(e)])
        })));
    };
    // Grace: the left side partitioned the same way (a NULL key to any partition: it
    // matches nothing there either), then partition by partition.
    let n = right_parts.len();
    let dir = env.db.temp_dir();
    let mut left_parts = (0..n)
        .map(|_| crate::spill::SpillFile::new(&dir))
        .collect::<Result<Vec<_>>>()?;
    for row in run(left, env)? {
        let row = row?;
        let part = match join.key(left_keys, &row)? {
            Some(key) => partition_of(&hash_key(&key), n),
            None => 0,
        };
        left_parts[part].push(&row)?;
    }
    for _ in 0..n {
        env.db.count_spill();
    }
    let pairs: Vec<_> = right_parts.into_iter().zip(left_parts).collect();
    Ok(Box::new(pairs.into_iter().flat_map(
        move |(right_part, left_part)| {
            let pair = || -> Result<Vec<Result<Row>>> {
                let mut table: JoinTable = HashMap::new();
                for row in right_part.read()? {
                    let row = row?;
                    if let Some(key) = join.key(right_keys, &row)? {
                        table.entry(hash_key(&key)).or_default().push((key, row));
                    }
                }
                let mut out = Vec::new();
                for row in left_part.read()? {
                    out.extend(join.probe(&table, row?)?);
                }
                Ok(out)
            };
            pair().unwrap_or_else(|e| vec![Err(e)])
        },
    )))
}

/// A hash join's build side: rows by the hash of their key, each with its key.
type JoinTable = HashMap<Vec<u8>, Vec<(Row, Row)>>;

/// How many partitions a Grace hash join writes each side into.
const PARTITIONS: usize = 32;

/// What probing a hash join needs.
#[derive(Clone, Copy)]
struct HashJoin<'a> {
    env: &'a Env<'a>,
    kind: JoinKind,
    left_keys: &'a [Expr],
    residual: Option<&'a Expr>,
    right_width: usize,
}

impl HashJoin<'_> {
    /// The key `keys` give `row`; `None` if it holds NULL.
    fn key(&self, keys: &[Expr], row: &[Value]) -> Result<Option<Row>> {
        let key = keys
            .iter()
            .map(|k| k.eval(row, self.env))
            .collect::<Result<Row>>()?;
        Ok((!key.iter().any(Value::is_null)).then_some(key))
    }

    /// The build side written to partition files.
    fn spill_table(&self, table: JoinTable) -> Result<Vec<crate::spill::SpillFile>> {
        let dir = self.env.db.temp_dir();
        let mut parts = (0..PARTITIONS)
            .map(|_| crate::spill::SpillFile::new(&dir))
            .collect::<Result<Vec<_>>>()?;
        for (hash, entries) in table {
            for (_, row) in entries {
                parts[partition_of(&hash, PARTITIONS)].push(&row)?;
            }
        }
        for _ in 0..PARTITIONS {
            self.env.db.count_spill();
        }
        Ok(parts)
    }

    /// The joined rows of one left row.
    fn probe(&self, table: &JoinTable, left_row: Row) -> Result<Vec<Result<Row>>> {
        let mut out = Vec::new();
        if let Some(key) = self.key(self.left_keys, &left_row)? {
            for (right_key, right_row) in table.get(&hash_key(&key)).into_iter().flatten() {
                let mut equal = true;
                for (a, b) in key.iter().zip(right_key) {
                    equal &= a.compare(b)? == Some(Ordering::Equal);
                }
                if !equal {
                    continue;
                }
                let mut joined = left_row.clone();
                joined.extend_from_slice(right_row);
                let keep = match self.residual {
                    Some(r) => r.eval(&joined, self.env)? == Value::Bool(true),
                    None => true,
                };
                if keep {
                    out.push(Ok(joined));
                }
            }
        }
        if out.is_empty() && self.kind == JoinKind::Left {
            let mut padded = left_row;
            padded.resize(padded.len() + self.right_width, Value::Null);
            out.push(Ok(padded));
        }
        Ok(out)
    }
}

/// The partition of a key's hash bytes (FNV-1a, apart from the hash table's own hashing).
fn partition_of(hash: &[u8], partitions: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in hash {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % partitions as u64) as usize
}

/// Bytes equal for key values SQL finds equal (numbers of any type by their value as a
/// double, which may also make unequal ones alike: the join compares them after).
fn hash_key(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        let number = match v {
            Value::Int2(n) => Some(f64::from(*n)),
            Value::Int4(n) => Some(f64::from(*n)),
            Value::Int8(n) => Some(*n as f64),
            Value::Float4(x) => Some(f64::from(*x)),
            Value::Float8(x) => Some(*x),
            Value::Numeric(n) => Some(n.to_f64()),
            _ => None,
        };
        match number {
            Some(x) => {
                let x = if x == 0.0 {
                    0.0
                } else if x.is_nan() {
                    f64::NAN
                } else {
                    x
                };
                out.push(1);
                out.extend_from_slice(&x.to_bits().to_le_bytes());
            }
            None => out.extend(group_key(std::slice::from_ref(v))),
        }
    }
    out
}

/// Hash aggregation: one accumulator per aggregate per group, groups in order of first
/// appearance.
fn aggregate<'a>(
    env: &'a Env<'a>,
    input: &'a Plan,
    groups: &'a [Expr],
    aggs: &'a [crate::aggregate::AggCall],
) -> Result<Rows<'a>> {
    if groups.is_empty() {
        // One group: no key to compute or look up per row.
        let mut accs: Vec<Accumulator> = aggs.iter().map(Accumulator::new).collect();
        for row in run(input, env)? {
            let row = row?;
            for (acc, call) in accs.iter_mut().zip(aggs) {
                acc.add(call, &row, env)?;
            }
        }
        let values = accs
            .into_iter()
            .zip(aggs)
            .map(|(acc, call)| acc.finish(call, env))
            .collect::<Result<Row>>()?;
        return Ok(Box::new(std::iter::once(Ok(values))));
    }
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut states: Vec<(Row, Vec<Accumulator>)> = Vec::new();
    for row in run(input, env)? {
        let row = row?;
        let key_values = groups
            .iter()
            .map(|g| g.eval(&row, env))
            .collect::<Result<Row>>()?;
        let key = group_key(&key_values);
        let slot = match index.get(&key) {
            Some(&slot) => slot,
            None => {
                index.insert(key, states.len());
                states.push((key_values, aggs.iter().map(Accumulator::new).collect()));
                states.len() - 1
            }
        };
        for (acc, call) in states[slot].1.iter_mut().zip(aggs) {
            acc.add(call, &row, env)?;
        }
    }
    if groups.is_empty() && states.is_empty() {
        states.push((Vec::new(), aggs.iter().map(Accumulator::new).collect()));
    }
    Ok(Box::new(states.into_iter().map(
        move |(mut values, accs)| {
            for (acc, call) in accs.into_iter().zip(aggs) {
                values.push(acc.finish(call, env)?);
            }
            Ok(values)
        },
    )))
}

/// Sorts `rows` by `keys`, stably.
pub fn sort(keys: &[SortKey], rows: &mut [Row]) -> Result<()> {
    let mut failure = None;
    rows.sort_by(|a, b| {
        for key in keys {
            let ordering =
                compare_for_sort(&a[key.column], &b[key.column], key).unwrap_or_else(|e| {
                    failure.get_or_insert(e);
                    Ordering::Equal
                });
            if ordering.is_ne() {
                return ordering;
            }
        }
        Ordering::Equal
    });
    failure.map_or(Ok(()), Err)
}

/// The first `k` rows of `rows` in the order of `keys`, as a stable sort would give them,
/// holding at most about 2k rows at a time: whenever the buffer doubles, the k first (ties
/// broken by input order) are selected and the rest dropped, and from then on a row that
/// orders after the k-th kept is dropped as it arrives.
fn top_n(keys: &[SortKey], k: usize, rows: Rows<'_>) -> Result<Vec<Row>> {
    let failure = RefCell::new(None);
    let order = |a: &(usize, Row), b: &(usize, Row)| {
        for key in keys {
            let ordering = compare_for_sort(&a.1[key.column], &b.1[key.column], key)
                .unwrap_or_else(|e| {
                    failure.borrow_mut().get_or_insert(e);
                    Ordering::Equal
                });
            if ordering.is_ne() {
                return ordering;
            }
        }
        a.0.cmp(&b.0)
    };
    let mut buffer: Vec<(usize, Row)> = Vec::new();
    // The k-th row kept at the last selection: a row after it in the order (a tie
    // included: it came later) cannot be among the first k.
    let mut worst: Option<(usize, Row)> = None;
    for (seq, row) in rows.enumerate() {
        let item = (seq, row?);
        if worst.as_ref().is_some_and(|w| order(&item, w).is_gt()) {
            continue;
        }
        buffer.push(item);
        if k > 0 && buffer.len() >= 2 * k.max(512) {
            buffer.select_nth_unstable_by(k - 1, order);
            buffer.truncate(k);
            worst = buffer.last().cloned();
        }
    }
    buffer.sort_by(order);
    buffer.truncate(k);
    failure
        .into_inner()
        .map_or(Ok(buffer.into_iter().map(|(_, row)| row).collect()), Err)
}

/// How two values of a sort key order: NULLs where the key puts them, the rest by value.
fn compare_for_sort(x: &Value, y: &Value, key: &SortKey) -> Result<Ordering> {
    let ordering = match (x.is_null(), y.is_null()) {
        (true, true) => return Ok(Ordering::Equal),
        (true, false) => {
            return Ok(if key.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            })
        }
        (false, true) => {
            return Ok(if key.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            })
        }
        (false, false) => x.compare(y)?.unwrap_or(Ordering::Equal),
    };
    Ok(if key.descending {
        ordering.reverse()
    } else {
        ordering
    })
}

fn distinct(rows: Rows<'_>) -> Rows<'_> {
    let mut seen = HashSet::new();
    Box::new(rows.filter(move |row| match row {
        Ok(row) => seen.insert(group_key(row)),
        Err(_) => true,
    }))
}

/// `UNION`, `INTERSECT`, `EXCEPT`, with or without `ALL`.
fn set_op<'a>(
    env: &'a Env<'a>,
    op: SetOpKind,
    all: bool,
    left: &'a Plan,
    right: &'a Plan,
) -> Result<Rows<'a>> {
    if op == SetOpKind::Union {
        let both = run(left, env)?.chain(run(right, env)?);
        return Ok(if all {
            Box::new(both)
        } else {
            distinct(Box::new(both))
        });
    }
    // How many times each row is on the right.
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    for row in run(right, env)? {
        *counts.entry(group_key(&row?)).or_default() += 1;
    }
    let mut emitted: HashSet<Vec<u8>> = HashSet::new();
    let rows = run(left, env)?.filter(move |row| {
        let Ok(row) = row else { return true };
        let key = group_key(row);
        let on_right = counts.get_mut(&key);
        match (op, all) {
            (SetOpKind::Intersect, true) => match on_right {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            },
            (SetOpKind::Intersect, false) => on_right.is_some() && emitted.insert(key),
            (SetOpKind::Except, true) => match on_right {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            },
            (SetOpKind::Except, false) => on_right.is_none() && emitted.insert(key),
            (SetOpKind::Union, _) => unreachable!("handled above"),
        }
    });
    Ok(Box::new(rows))
}
