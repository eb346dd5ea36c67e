//! Result pipes: `| head N` and `| tail N` applied in order to a stream of results.
//!
//! `head` passes the first N and then nothing; `tail` keeps the last N and releases them
//! at end of input, in their original order. The `size` cap is a final `head`.

use std::collections::VecDeque;

use crate::plan::PlanPipe;

#[derive(Debug)]
enum Stage<T> {
    Head { left: u64 },
    Tail { keep: usize, buffer: VecDeque<T> },
}

/// A chain of pipes over items of type `T`.
#[derive(Debug)]
pub struct PipeChain<T = super::Match> {
    stages: Vec<Stage<T>>,
}

impl<T> PipeChain<T> {
    pub fn new(pipes: &[PlanPipe]) -> Self {
        let stages = pipes
            .iter()
            .map(|p| match *p {
                PlanPipe::Head(n) => Stage::Head { left: n },
                PlanPipe::Tail(n) => Stage::Tail {
                    keep: usize::try_from(n).unwrap_or(usize::MAX),
                    buffer: VecDeque::new(),
                },
            })
            .collect();
        PipeChain { stages }
    }

    /// Items held back by `tail` pipes.
    pub fn buffered(&self) -> usize {
        self.stages
            .iter()
            .map(|s| match s {
                Stage::Tail { buffer, .. } => buffer.len(),
                Stage::Head { .. } => 0,
            })
            .sum()
    }

    /// Passes items through every pipe; what comes out the end goes to `out`.
    pub fn feed(&mut self, items: impl IntoIterator<Item = T>, out: &mut Vec<T>) {
        if self.stages.is_empty() {
            out.extend(items);
            return;
        }
        for item in items {
            Self::pass(&mut self.stages, 0, item, out);
        }
    }

    fn pass(stages: &mut [Stage<T>], from: usize, item: T, out: &mut Vec<T>) {
        let mut index = from;
        loop {
            let Some(stage) = stages.get_mut(index) else {
                out.push(item);
                return;
            };
            match stage {
                Stage::Head { left } => {
                    if *left == 0 {
                        return;
                    }
                    *left -= 1;
                }
                Stage::Tail { keep, buffer } => {
                    if *keep == 0 {
                        return;
                    }
                    if buffer.len() == *keep {
                        buffer.pop_front();
                    }
                    buffer.push_back(item);
                    return;
                }
            }
            index += 1;
        }
    }

    /// End of input: each `tail` releases its buffer into the pipes after it.
    pub fn finish(&mut self, out: &mut Vec<T>) {
        for index in 0..self.stages.len() {
            let released: Vec<T> = match self.stages.get_mut(index) {
                Some(Stage::Tail { buffer, .. }) => buffer.drain(..).collect(),
                _ => continue,
            };
            for item in released {
                Self::pass(&mut self.stages, index + 1, item, out);
            }
        }
    }

    /// Whether no further item can come out (every later item would be dropped).
    pub fn is_closed(&self) -> bool {
        self.stages
            .first()
            .is_some_and(|s| matches!(s, Stage::Head { left: 0 } | Stage::Tail { keep: 0, .. }))
    }
}

/// Applies pipes to a finished list of results.
pub fn apply<T>(pipes: &[PlanPipe], items: Vec<T>) -> Vec<T> {
    let mut chain = PipeChain::new(pipes);
    let mut out = Vec::new();
    chain.feed(items, &mut out);
    chain.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pipes: &[PlanPipe], n: u32) -> Vec<u32> {
        apply(pipes, (1..=n).collect())
    }

    #[test]
    fn head_and_tail() {
        assert_eq!(run(&[PlanPipe::Head(3)], 10), vec![1, 2, 3]);
        assert_eq!(run(&[PlanPipe::Tail(3)], 10), vec![8, 9, 10]);
        assert_eq!(run(&[PlanPipe::Head(4), PlanPipe::Tail(2)], 10), vec![3, 4]);
        assert_eq!(run(&[PlanPipe::Tail(4), PlanPipe::Head(2)], 10), vec![7, 8]);
        assert_eq!(run(&[PlanPipe::Head(0)], 10), Vec::<u32>::new());
        assert_eq!(run(&[PlanPipe::Tail(3), PlanPipe::Head(50)], 2), vec![1, 2]);
        assert!(run(&[], 0).is_empty());
    }

    #[test]
    fn streaming_head_emits_immediately() {
        let mut chain = PipeChain::new(&[PlanPipe::Head(2)]);
        let mut out = Vec::new();
        chain.feed([1, 2, 3], &mut out);
        assert_eq!(out, vec![1, 2]);
        assert!(chain.is_closed());
    }
}
