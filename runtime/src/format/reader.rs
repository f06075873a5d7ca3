//! Reading a ruleset lazily: the header and index on open, one bucket and
//! one section per lookup, each verified against its digest.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use crate::action::Action;
use crate::types::{Options, Rule};

use super::codec;
use super::errors::TextKind;
use super::header::{sha256, Header, Sha256Digest, HEADER_LEN, MAGIC, MAX_RULESET_BYTES};
use super::payload::{bucket_of, Bucket, Index, Section, SectionRef};
use super::{hex, RulesetError};

/// Random access to the ruleset's bytes: a file on the privileged path, a
/// buffer in tests, fuzzing and the compiler.
pub trait ReadAt {
    fn size(&self) -> io::Result<u64>;
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
}

/// An opened, header- and index-verified ruleset. Buckets and sections are
/// read and verified on demand.
pub struct Ruleset<R: ReadAt + ?Sized> {
    source: Box<R>,
    digest: Sha256Digest,
    index: Index,
    index_offset: u64,
    file_len: u64,
    /// Sections already read and verified, by command spelling: set by a
    /// process that decides many calls on one ruleset (the daemon).
    memo: Option<Memo>,
}

/// Verified sections, kept whole: bounded by the ruleset itself, since only
/// spellings the ruleset has are kept, never a caller's other words.
#[derive(Default)]
struct Memo {
    sections: std::sync::Mutex<std::collections::HashMap<String, Found>>,
}

/// A command's rules as the ruleset holds them, shared: a memoized ruleset
/// hands out the same rules to every call, never a copy.
pub type Rules = Arc<[Rule]>;

/// A verified section, its parts shared.
#[derive(Clone, Default)]
struct Found {
    rules: Rules,
    action: Option<Arc<Action>>,
}

impl From<Section> for Found {
    fn from(section: Section) -> Found {
        Found {
            rules: section.rules.into(),
            action: section.action.map(Arc::new),
        }
    }
}

impl<R: ReadAt + ?Sized> fmt::Debug for Ruleset<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ruleset")
            .field("digest", &hex(&self.digest))
            .field("index", &self.index)
            .finish()
    }
}

impl<R: ReadAt + ?Sized> Ruleset<R> {
    /// Verifies the header and the index of a ruleset.
    pub fn from_source(source: Box<R>) -> Result<Self, RulesetError> {
        let file_len = source.size().map_err(RulesetError::Read)?;
        Self::from_source_of_len(source, file_len)
    }

    /// As `from_source`, for a caller that already knows the length (the
    /// runtime has just `fstat`ed the file).
    pub fn from_source_of_len(source: Box<R>, file_len: u64) -> Result<Self, RulesetError> {
        if file_len > MAX_RULESET_BYTES {
            return Err(RulesetError::TooLarge { size: file_len });
        }
        if file_len == 0 {
            return Err(RulesetError::Empty);
        }
        if file_len < HEADER_LEN as u64 {
            if file_len < MAGIC.len() as u64 || !starts_with_magic(&*source)? {
                let mut text = vec![0u8; file_len as usize];
                source
                    .read_exact_at(&mut text, 0)
                    .map_err(RulesetError::Read)?;
                return Err(
                    TextKind::of(&text).map_or(RulesetError::BadMagic, RulesetError::NotCompiled)
                );
            }
            return Err(RulesetError::Truncated {
                expected: HEADER_LEN as u64,
                actual: file_len,
            });
        }
        let mut header = [0u8; HEADER_LEN];
        source
            .read_exact_at(&mut header, 0)
            .map_err(RulesetError::Read)?;
        let parsed = Header::parse(&header)?;
        let payload_len = parsed.payload_len;
        let expected = payload_len.saturating_add(HEADER_LEN as u64);
        if expected != file_len {
            return Err(RulesetError::Truncated {
                expected,
                actual: file_len,
            });
        }
        let index_len = u64::from(parsed.index_len);
        if index_len == 0 || index_len > payload_len {
            return Err(RulesetError::BadHeader("index length out of range"));
        }
        let index_offset = file_len - index_len;
        let index_bytes = read_range(&*source, index_offset, index_len)?;
        let digest = Header::digest_of(&header, &index_bytes);
        if digest != parsed.digest {
            return Err(RulesetError::DigestMismatch(
                "the header or the index".into(),
            ));
        }
        let index: Index = codec::decode(&index_bytes)
            .map_err(|e| RulesetError::Corrupt(format!("index: {e}")))?;
        if index.buckets.is_empty() {
            return Err(RulesetError::Corrupt("index has no buckets".into()));
        }
        let ruleset = Ruleset {
            source,
            digest,
            index,
            index_offset,
            file_len,
            memo: None,
        };
        for bucket in &ruleset.index.buckets {
            ruleset.check_bounds(bucket, "a bucket")?;
        }
        Ok(ruleset)
    }

    /// The ruleset's identity: SHA-256 over its header and index, which
    /// commit to every other byte.
    pub fn digest(&self) -> &Sha256Digest {
        &self.digest
    }

    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }

    pub fn options(&self) -> &Options {
        &self.index.options
    }

    /// The version of the compiler that wrote the ruleset, if recorded.
    pub fn compiler(&self) -> Option<&str> {
        Some(self.index.compiler.as_str()).filter(|v| !v.is_empty())
    }

    pub fn rule_count(&self) -> u32 {
        self.index.rule_count
    }

    /// The rules a caller's argv[0] selects, in declaration order; empty
    /// when no rule names that command.
    pub fn rules_for(&self, command: &[u8]) -> Result<Rules, RulesetError> {
        Ok(self
            .section_for(command)?
            .map(|found| found.rules)
            .unwrap_or_default())
    }

    /// What the ruleset is read from (the daemon's action child keeps its
    /// descriptor open).
    pub fn source(&self) -> &R {
        &self.source
    }

    /// The steps of the action a caller's `@NAME` selects, if any.
    pub fn action(&self, spelling: &[u8]) -> Result<Option<Arc<Action>>, RulesetError> {
        Ok(self.section_for(spelling)?.and_then(|found| found.action))
    }

    /// The rules and the action of one spelling (`@NAME`), from one read
    /// of its section.
    pub(crate) fn rules_and_action(
        &self,
        spelling: &[u8],
    ) -> Result<(Rules, Option<Arc<Action>>), RulesetError> {
        Ok(self
            .section_for(spelling)?
            .map(|found| (found.rules, found.action))
            .unwrap_or_default())
    }

    /// This ruleset, keeping each section it reads and verifies: for a
    /// process that decides many calls (the daemon), each command's rules
    /// are read, checked against their digest and decoded once, not per
    /// call. The file is root's and not writable by others (checked when
    /// opened), and a reload opens a new `Ruleset`.
    pub fn memoized(mut self) -> Self {
        self.memo = Some(Memo::default());
        self
    }

    /// The section of one command spelling, verified, if the ruleset has it.
    fn section_for(&self, spelling: &[u8]) -> Result<Option<Found>, RulesetError> {
        // Spellings are text in the ruleset: other bytes are in no section.
        let (Some(memo), Ok(text)) = (&self.memo, std::str::from_utf8(spelling)) else {
            return Ok(self.read_section_for(spelling)?.map(Found::from));
        };
        let sections = || memo.sections.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(section) = sections().get(text) {
            return Ok(Some(section.clone()));
        }
        let found = self.read_section_for(spelling)?.map(Found::from);
        if let Some(found) = &found {
            sections().insert(text.to_string(), found.clone());
        }
        Ok(found)
    }

    fn read_section_for(&self, spelling: &[u8]) -> Result<Option<Section>, RulesetError> {
        let which = bucket_of(spelling, self.index.buckets.len());
        let bucket = self.read_bucket(which)?;
        let found = bucket
            .commands
            .binary_search_by(|(name, _)| name.as_bytes().cmp(spelling));
        match found
            .ok()
            .and_then(|position| bucket.commands.get(position))
        {
            Some((name, reference)) => Ok(Some(self.read_section(name, reference)?)),
            None => Ok(None),
        }
    }

    /// Every command spelling in the ruleset with its rules, sorted by
    /// spelling. Verifies everything it reads.
    pub fn all_commands(&self) -> Result<Vec<(String, Vec<Rule>)>, RulesetError> {
        let mut all = Vec::new();
        for which in 0..self.index.buckets.len() {
            for (name, reference) in self.read_bucket(which)?.commands {
                let rules = self.read_section(&name, &reference)?.rules;
                all.push((name, rules));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    /// Every rule once, in declaration order.
    pub fn all_rules(&self) -> Result<Vec<Rule>, RulesetError> {
        let mut rules: BTreeMap<u32, Rule> = BTreeMap::new();
        for (_, section) in self.all_commands()? {
            for rule in section {
                rules.entry(rule.id).or_insert(rule);
            }
        }
        Ok(rules.into_values().collect())
    }

    /// Verifies every byte: each bucket and section against its digest, and
    /// that together with the index they tile the payload exactly.
    pub fn verify_all(&self) -> Result<(), RulesetError> {
        let mut ranges: Vec<(u64, u64)> = vec![(self.index_offset, self.file_len)];
        for (which, bucket_ref) in self.index.buckets.iter().enumerate() {
            ranges.push((
                bucket_ref.offset,
                bucket_ref.offset + u64::from(bucket_ref.len),
            ));
            for (name, reference) in self.read_bucket(which)?.commands {
                self.read_section(&name, &reference)?;
                ranges.push((
                    reference.offset,
                    reference.offset + u64::from(reference.len),
                ));
            }
        }
        ranges.sort_unstable();
        ranges.dedup();
        let mut next = HEADER_LEN as u64;
        for (start, end) in ranges {
            if start != next {
                return Err(RulesetError::Corrupt(format!(
                    "unaccounted bytes at offset {next}"
                )));
            }
            next = end;
        }
        if next != self.file_len {
            return Err(RulesetError::Corrupt(format!(
                "unaccounted bytes at offset {next}"
            )));
        }
        Ok(())
    }

    fn check_bounds(&self, reference: &SectionRef, what: &str) -> Result<(), RulesetError> {
        let end = reference.offset.checked_add(u64::from(reference.len));
        match end {
            Some(end) if reference.offset >= HEADER_LEN as u64 && end <= self.index_offset => {
                Ok(())
            }
            _ => Err(RulesetError::Corrupt(format!(
                "{what} lies outside the payload"
            ))),
        }
    }

    fn read_verified(&self, reference: &SectionRef, what: &str) -> Result<Vec<u8>, RulesetError> {
        self.check_bounds(reference, what)?;
        let bytes = read_range(&*self.source, reference.offset, u64::from(reference.len))?;
        if sha256(&[&bytes]) != reference.sha256 {
            return Err(RulesetError::DigestMismatch(what.to_string()));
        }
        Ok(bytes)
    }

    fn read_bucket(&self, which: usize) -> Result<Bucket, RulesetError> {
        let what = format!("command table bucket {which}");
        // An index without buckets is damage, not a panic.
        let reference = *self
            .index
            .buckets
            .get(which)
            .ok_or_else(|| RulesetError::Corrupt(format!("{what}: no such bucket")))?;
        let bytes = self.read_verified(&reference, &what)?;
        let bucket: Bucket =
            codec::decode(&bytes).map_err(|e| RulesetError::Corrupt(format!("{what}: {e}")))?;
        let sorted = bucket
            .commands
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0));
        let placed = bucket
            .commands
            .iter()
            .all(|(name, _)| bucket_of(name.as_bytes(), self.index.buckets.len()) == which);
        if !sorted || !placed {
            return Err(RulesetError::Corrupt(format!("{what} is out of order")));
        }
        Ok(bucket)
    }

    fn read_section(&self, command: &str, reference: &SectionRef) -> Result<Section, RulesetError> {
        let what = format!("the rules for `{command}`");
        let bytes = self.read_verified(reference, &what)?;
        codec::decode(&bytes).map_err(|e| RulesetError::Corrupt(format!("{what}: {e}")))
    }
}

impl Ruleset<[u8]> {
    /// Reads a ruleset held in memory (compiler, tests, fuzzing).
    pub fn from_bytes(bytes: &[u8]) -> Result<Ruleset<Vec<u8>>, RulesetError> {
        Ruleset::from_source(Box::new(bytes.to_vec()))
    }
}

fn starts_with_magic<R: ReadAt + ?Sized>(source: &R) -> Result<bool, RulesetError> {
    let mut magic = [0u8; 8];
    source
        .read_exact_at(&mut magic, 0)
        .map_err(RulesetError::Read)?;
    Ok(magic == MAGIC)
}

fn read_range<R: ReadAt + ?Sized>(
    source: &R,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, RulesetError> {
    let len = usize::try_from(len).map_err(|_| RulesetError::Corrupt("length overflow".into()))?;
    let mut buf = vec![0u8; len];
    source
        .read_exact_at(&mut buf, offset)
        .map_err(RulesetError::Read)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    //! Written by the writer, read back and damaged: the format end to end.
    use super::*;
    use crate::format::write_ruleset;
    use crate::types::{Command, Rest, RunAs, Source};

    fn rule(id: u32, command: &str) -> Rule {
        let command = if command.starts_with('/') {
            Command::Path(command.into())
        } else {
            Command::Name(command.into())
        };
        Rule {
            id,
            name: format!("r{id}"),
            source: Source {
                file: "t.rwf".into(),
                line: id + 1,
            },
            command,
            also: Vec::new(),
            sha256: None,
            run_as: RunAs::Root,
            env: Vec::new(),
            args: Vec::new(),
            rest: Rest::Exact,
            via: Vec::new(),
            effect: crate::types::Effect::Allow,
        }
    }

    fn options() -> Options {
        Options {
            name: "t".into(),
            exec_dirs: vec!["/bin".into()],
            ..Options::default()
        }
    }

    #[test]
    fn every_command_is_found_in_its_bucket() {
        let mut rules: Vec<Rule> = (0..500)
            .map(|i| rule(i, &format!("cmd{}", i % 300)))
            .collect();
        rules.push(rule(500, "/usr/bin/cmd7"));
        let bytes = write_ruleset(&options(), &rules).unwrap();
        let ruleset = Ruleset::from_bytes(&bytes).unwrap();
        assert!(ruleset.index.buckets.len() > 1);
        ruleset.verify_all().unwrap();
        for i in 0..300 {
            let found = ruleset.rules_for(format!("cmd{i}").as_bytes()).unwrap();
            let ids: Vec<u32> = found.iter().map(|r| r.id).collect();
            let mut expected: Vec<u32> = (0..500).filter(|id| id % 300 == i).collect();
            if i == 7 {
                expected.push(500);
            }
            assert_eq!(ids, expected, "cmd{i}");
        }
        assert_eq!(ruleset.rules_for(b"/usr/bin/cmd7").unwrap().len(), 1);
        assert!(ruleset.rules_for(b"missing").unwrap().is_empty());
        assert_eq!(ruleset.all_rules().unwrap(), rules);
        assert_eq!(ruleset.rule_count(), 501);
    }

    /// Counts the reads made of the bytes it serves.
    struct Counted(Vec<u8>, std::cell::Cell<usize>);

    impl ReadAt for Counted {
        fn size(&self) -> io::Result<u64> {
            self.0.size()
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.1.set(self.1.get() + 1);
            self.0.read_exact_at(buf, offset)
        }
    }

    #[test]
    fn a_memoized_ruleset_reads_each_found_section_once() {
        let rules: Vec<Rule> = (0..20).map(|i| rule(i, &format!("cmd{}", i % 5))).collect();
        let bytes = write_ruleset(&options(), &rules).unwrap();
        let open = |memoized: bool| {
            let ruleset =
                Ruleset::from_source(Box::new(Counted(bytes.clone(), Default::default()))).unwrap();
            if memoized {
                ruleset.memoized()
            } else {
                ruleset
            }
        };
        let reads_of = |ruleset: &Ruleset<Counted>, command: &[u8]| {
            let before = ruleset.source().1.get();
            let found = ruleset.rules_for(command).unwrap();
            (found, ruleset.source().1.get() - before)
        };
        let (plain, memo) = (open(false), open(true));
        for _ in 0..3 {
            let (found, reads) = reads_of(&plain, b"cmd3");
            assert_eq!((found.len(), reads), (4, 2));
        }
        let (first, reads) = reads_of(&memo, b"cmd3");
        assert_eq!((first.len(), reads), (4, 2));
        for _ in 0..3 {
            let (again, reads) = reads_of(&memo, b"cmd3");
            // The very rules kept, not a copy.
            assert!(Arc::ptr_eq(&again, &first) && reads == 0);
        }
        // Spellings the ruleset lacks are not kept: each costs its bucket.
        for _ in 0..2 {
            let (none, reads) = reads_of(&memo, b"missing");
            assert_eq!((none.len(), reads), (0, 1));
        }
    }

    #[test]
    fn damage_is_detected_where_it_is() {
        let rules: Vec<Rule> = (0..40).map(|i| rule(i, &format!("cmd{i}"))).collect();
        let bytes = write_ruleset(&options(), &rules).unwrap();
        let ruleset = Ruleset::from_bytes(&bytes).unwrap();
        let index_offset = ruleset.index_offset as usize;

        let flip = |at: usize| {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            damaged
        };
        assert!(matches!(
            Ruleset::from_bytes(&flip(0)),
            Err(RulesetError::BadMagic)
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(8)),
            Err(RulesetError::UnknownVersion(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(12)),
            Err(RulesetError::UnknownDfaFormat(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(16)),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(40)),
            Err(RulesetError::DigestMismatch(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(index_offset + 3)),
            Err(RulesetError::DigestMismatch(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&bytes[..bytes.len() - 1]),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(&bytes[..10]),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(b"\xffgarbage"),
            Err(RulesetError::BadMagic)
        ));
        assert!(matches!(
            Ruleset::from_bytes(b"# a comment, then nothing that says what this is\n"),
            Err(RulesetError::NotCompiled(TextKind::Text))
        ));
        assert!(matches!(Ruleset::from_bytes(b""), Err(RulesetError::Empty)));
        // Text where the ruleset belongs: said what it is, long or short.
        let conf = b"# nova-rootwrap\n\n[DEFAULT]\nfilters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap\n";
        assert!(matches!(
            Ruleset::from_bytes(conf),
            Err(RulesetError::NotCompiled(TextKind::Oslo))
        ));
        assert!(matches!(
            Ruleset::from_bytes(b"[Filters]\n"),
            Err(RulesetError::NotCompiled(TextKind::Oslo))
        ));
        assert!(matches!(
            Ruleset::from_bytes(b"# nova\nruleset nova\nexec-dirs /usr/bin /bin\nallow ls: ls\n"),
            Err(RulesetError::NotCompiled(TextKind::Filter))
        ));

        // A damaged section passes the cheap open, is caught when its command
        // is looked up, and by the full verification that precedes a denial.
        let damaged = flip(HEADER_LEN + 2);
        let opened = Ruleset::from_bytes(&damaged).unwrap();
        assert!(matches!(
            opened.verify_all(),
            Err(RulesetError::DigestMismatch(_))
        ));
        let hit = (0..40).any(|i| opened.rules_for(format!("cmd{i}").as_bytes()).is_err());
        assert!(hit, "some command's section must fail its digest");
    }

    #[test]
    fn encoding_is_deterministic() {
        let rules: Vec<Rule> = (0..100).map(|i| rule(i, &format!("c{}", i % 17))).collect();
        assert_eq!(
            write_ruleset(&options(), &rules),
            write_ruleset(&options(), &rules)
        );
    }

    #[test]
    fn nesting_beyond_the_bound_is_corrupt_not_a_stack_overflow() {
        use crate::types::{Arg, Item, MAX_NESTING};
        let nest = |depth: usize| {
            let mut item = Item::One(Arg::Literal("x".into()));
            for _ in 0..depth {
                item = Item::Optional(Box::new(item));
            }
            let mut r = rule(0, "deep");
            r.args = vec![item];
            write_ruleset(&options(), &[r]).unwrap()
        };
        let fine = Ruleset::from_bytes(&nest(MAX_NESTING)).unwrap();
        assert_eq!(fine.rules_for(b"deep").unwrap().len(), 1);
        // Encoding, cloning and dropping recurse too: 1000 levels is what a
        // test thread can build, and far past the bound.
        for depth in [MAX_NESTING + 1, 1000] {
            let deep = Ruleset::from_bytes(&nest(depth)).unwrap();
            assert!(matches!(
                deep.rules_for(b"deep"),
                Err(RulesetError::Corrupt(_))
            ));
            assert!(matches!(deep.verify_all(), Err(RulesetError::Corrupt(_))));
        }
    }
}
