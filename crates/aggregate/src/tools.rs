//! Probes per scanning tool, for one source-day.

use portwatch_scanners::Tool;

/// How many of a source's probes each tool fingerprint matched
/// ([`portwatch_scanners::tool_of`]), [`Tool::Unknown`] included, so the
/// counts of a source-day sum to its probes. Counters add, so merging is
/// associative and commutative (rule 2; `tests/merge.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolCounts([u64; Tool::ALL.len()]);

impl ToolCounts {
    #[inline]
    pub fn add(&mut self, tool: Tool, n: u64) {
        let slot = &mut self.0[slot(tool)];
        *slot = slot.saturating_add(n);
    }

    pub fn get(&self, tool: Tool) -> u64 {
        self.0[slot(tool)]
    }

    pub fn merge(&mut self, other: &ToolCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.saturating_add(b);
        }
    }

    /// Probes counted, whichever tool.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |t, n| t.saturating_add(*n))
    }

    /// The tools with a count, in [`Tool::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Tool, u64)> + '_ {
        Tool::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| (*t, n))
    }

    /// The recognised tool that sent most of the probes, if any tool was
    /// recognised at all. Unknown probes do not outvote a fingerprint: a
    /// Mirai bot's stray unmarked packets do not make it "unknown". Ties go
    /// to the tool listed first in [`Tool::ALL`].
    pub fn dominant(&self) -> Option<Tool> {
        self.iter()
            .filter(|(t, _)| *t != Tool::Unknown)
            .fold(None, |best: Option<(Tool, u64)>, (t, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((t, n)),
            })
            .map(|(t, _)| t)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }

    /// `zmap=3 unknown=2`: the stored form (names, not positions, so the
    /// order of [`Tool`]'s variants can change without misreading a store).
    pub fn encode(&self) -> String {
        let mut s = String::new();
        for (t, n) in self.iter() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(t.as_str());
            s.push('=');
            s.push_str(&n.to_string());
        }
        s
    }

    /// Reads [`Self::encode`]'s form back; `Err` holds the offending word.
    pub fn decode(s: &str) -> Result<ToolCounts, String> {
        let mut out = ToolCounts::default();
        for word in s.split_ascii_whitespace() {
            let (name, n) = word.split_once('=').ok_or_else(|| word.to_string())?;
            let tool = Tool::from_name(name).ok_or_else(|| word.to_string())?;
            let n: u64 = n.parse().map_err(|_| word.to_string())?;
            out.add(tool, n);
        }
        Ok(out)
    }
}

#[inline]
fn slot(tool: Tool) -> usize {
    match tool {
        Tool::ZMap => 0,
        Tool::Masscan => 1,
        Tool::Mirai => 2,
        Tool::Nmap => 3,
        Tool::Unicornscan => 4,
        Tool::Unknown => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_tool_list() {
        for (i, t) in Tool::ALL.iter().enumerate() {
            assert_eq!(slot(*t), i);
        }
    }

    #[test]
    fn encoding_round_trips_and_refuses_garbage() {
        let mut c = ToolCounts::default();
        c.add(Tool::Masscan, 768);
        c.add(Tool::Unknown, 3);
        assert_eq!(c.encode(), "masscan=768 unknown=3");
        assert_eq!(ToolCounts::decode(&c.encode()), Ok(c));
        assert_eq!(ToolCounts::decode(""), Ok(ToolCounts::default()));
        assert_eq!(ToolCounts::decode("zmap=x"), Err("zmap=x".into()));
        assert_eq!(ToolCounts::decode("hping=1"), Err("hping=1".into()));
        assert_eq!(ToolCounts::decode("zmap"), Err("zmap".into()));
    }

    #[test]
    fn the_dominant_tool_ignores_unknown_probes() {
        let mut c = ToolCounts::default();
        assert_eq!(c.dominant(), None);
        c.add(Tool::Unknown, 100);
        assert_eq!(c.dominant(), None);
        c.add(Tool::Mirai, 2);
        c.add(Tool::Nmap, 2);
        assert_eq!(c.dominant(), Some(Tool::Mirai));
        c.add(Tool::Nmap, 1);
        assert_eq!(c.dominant(), Some(Tool::Nmap));
        assert_eq!(c.total(), 105);
    }
}
