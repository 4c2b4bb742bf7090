//! Tearing down a network namespace joined to the test's by a veth pair,
//! however the test ends (who may build one, and which tools are there, is
//! `portwatch_testkit`'s).

use std::process::{Child, Command};

/// Removes the namespace (and the veth pair with it) and stops the
/// processes however the test ends.
pub struct Cleanup {
    pub ns: String,
    pub children: Vec<Child>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}
