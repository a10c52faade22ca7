//! The dependency graph of a plan's seeds or scenarios: one module serves validation (unknown
//! ids, cycles), ordering (seeds), selection (`--filter`, `--rerun-failed`), sharding and the
//! scheduler. Every walk is iterative and linear in the plan's size, so no plan reaches the stack.

use std::collections::BTreeSet;

/// Nodes by position (plan order), with edges both ways, each direction as one list of edges
/// with offsets (a plan of a million scenarios without dependencies costs two arrays of
/// offsets). Dependencies on ids the plan does not hold are kept aside for validation to report.
pub struct Graph {
    /// `dependencies[dep_at[i]..dep_at[i + 1]]` are the nodes `i` depends on.
    dep_at: Vec<usize>,
    dependencies: Vec<usize>,
    /// `dependents[of_at[i]..of_at[i + 1]]` are the nodes that depend on `i`.
    of_at: Vec<usize>,
    dependents: Vec<usize>,
    /// (node, id it depends on that is not in the graph).
    pub unknown: Vec<(usize, String)>,
    /// (node, the earlier node with the same id): a repeated id resolves to its first node.
    pub duplicates: Vec<(usize, usize)>,
}

impl Graph {
    /// The graph of `nodes` (id, dependencies), in order. A repeated id resolves to its first node.
    pub fn new<'a, I, D>(nodes: I) -> Graph
    where
        I: IntoIterator<Item = (&'a str, D)>,
        D: IntoIterator<Item = &'a String>,
    {
        // Ids, and every (node, dependency id) edge, in node order.
        let mut ids: Vec<&str> = Vec::new();
        let mut wanted: Vec<(usize, &String)> = Vec::new();
        for (i, (id, deps)) in nodes.into_iter().enumerate() {
            ids.push(id);
            wanted.extend(deps.into_iter().map(|d| (i, d)));
        }
        let n = ids.len();
        // Ids sorted, each with its node: found by binary search, repeats side by side (a sorted
        // list of positions is a fraction of what a hash map of a million ids takes).
        let mut sorted: Vec<u32> = (0..n as u32).collect();
        sorted.sort_by(|&a, &b| ids[a as usize].cmp(ids[b as usize]).then(a.cmp(&b)));
        let mut duplicates = Vec::new();
        for pair in sorted.windows(2) {
            if ids[pair[0] as usize] == ids[pair[1] as usize] {
                // The first of a run of repeats is the earliest node (ties sort by position).
                let first = sorted[sorted.partition_point(|&k| ids[k as usize] < ids[pair[1] as usize])];
                duplicates.push((pair[1] as usize, first as usize));
            }
        }
        duplicates.sort_unstable();
        let find = |id: &str| -> Option<usize> {
            let at = sorted.partition_point(|&k| ids[k as usize] < id);
            sorted.get(at).filter(|&&k| ids[k as usize] == id).map(|&k| k as usize)
        };
        let mut dep_at = Vec::with_capacity(n + 1);
        let mut dependencies = Vec::with_capacity(wanted.len());
        let mut unknown = Vec::new();
        let mut next = 0;
        for i in 0..n {
            dep_at.push(dependencies.len());
            while next < wanted.len() && wanted[next].0 == i {
                let d = wanted[next].1;
                match find(d) {
                    Some(j) => dependencies.push(j),
                    None => unknown.push((i, d.clone())),
                }
                next += 1;
            }
        }
        dep_at.push(dependencies.len());
        // The other direction by counting: how many depend on each node, then where each goes.
        let mut of_at = vec![0usize; n + 1];
        for &j in &dependencies {
            of_at[j + 1] += 1;
        }
        for i in 0..n {
            of_at[i + 1] += of_at[i];
        }
        let mut fill = of_at.clone();
        let mut dependents = vec![0usize; dependencies.len()];
        for i in 0..n {
            for &j in &dependencies[dep_at[i]..dep_at[i + 1]] {
                dependents[fill[j]] = i;
                fill[j] += 1;
            }
        }
        Graph { dep_at, dependencies, of_at, dependents, unknown, duplicates }
    }

    pub fn len(&self) -> usize {
        self.dep_at.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nodes that depend on `i` directly, in plan order.
    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.dependents[self.of_at[i]..self.of_at[i + 1]]
    }

    /// The nodes `i` depends on directly (known ones).
    pub fn dependencies(&self, i: usize) -> &[usize] {
        &self.dependencies[self.dep_at[i]..self.dep_at[i + 1]]
    }

    /// Every node after its dependencies; among nodes ready at once, plan order first. `None`
    /// when there is a cycle.
    pub fn order(&self) -> Option<Vec<usize>> {
        let mut waiting: Vec<usize> = (0..self.len()).map(|i| self.dependencies(i).len()).collect();
        let mut ready: BTreeSet<usize> = (0..self.len()).filter(|&i| waiting[i] == 0).collect();
        let mut out = Vec::with_capacity(self.len());
        while let Some(i) = ready.pop_first() {
            out.push(i);
            for &d in self.dependents(i) {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.insert(d);
                }
            }
        }
        (out.len() == self.len()).then_some(out)
    }

    /// A dependency cycle as the nodes along it, the first repeated at the end (following
    /// "depends on" edges, from the earliest node in plan order that reaches one).
    pub fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; self.len()];
        for start in 0..self.len() {
            if mark[start] != Mark::New {
                continue;
            }
            // The path being walked, each node with the index of its next dependency to try.
            let mut path: Vec<(usize, usize)> = vec![(start, 0)];
            mark[start] = Mark::OnPath;
            while let Some(&mut (node, ref mut next)) = path.last_mut() {
                match self.dependencies(node).get(*next) {
                    Some(&dep) => {
                        *next += 1;
                        match mark[dep] {
                            Mark::OnPath => {
                                let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                                let mut cycle: Vec<usize> = path[from..].iter().map(|&(n, _)| n).collect();
                                cycle.push(dep);
                                return Some(cycle);
                            }
                            Mark::New => {
                                mark[dep] = Mark::OnPath;
                                path.push((dep, 0));
                            }
                            Mark::Done => {}
                        }
                    }
                    None => {
                        mark[node] = Mark::Done;
                        path.pop();
                    }
                }
            }
        }
        None
    }

    /// `chosen` and everything it depends on, transitively, as a membership vector.
    pub fn with_dependencies(&self, chosen: impl IntoIterator<Item = usize>) -> Vec<bool> {
        let mut keep = vec![false; self.len()];
        let mut stack: Vec<usize> = Vec::new();
        for i in chosen {
            if !keep[i] {
                keep[i] = true;
                stack.push(i);
            }
        }
        while let Some(i) = stack.pop() {
            for &d in self.dependencies(i) {
                if !keep[d] {
                    keep[d] = true;
                    stack.push(d);
                }
            }
        }
        keep
    }

    /// The connected groups (dependencies in either direction), each in plan order, ordered by
    /// their first node.
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut group_of = vec![usize::MAX; self.len()];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for start in 0..self.len() {
            if group_of[start] != usize::MAX {
                continue;
            }
            let g = groups.len();
            let mut members = vec![start];
            group_of[start] = g;
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                for &n in self.dependencies(i).iter().chain(self.dependents(i)) {
                    if group_of[n] == usize::MAX {
                        group_of[n] = g;
                        members.push(n);
                        stack.push(n);
                    }
                }
            }
            members.sort_unstable();
            groups.push(members);
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> (Graph, Vec<String>) {
        let owned: Vec<(String, Vec<String>)> = edges
            .iter()
            .map(|(id, deps)| (id.to_string(), deps.iter().map(|d| d.to_string()).collect()))
            .collect();
        let g = Graph::new(owned.iter().map(|(id, deps)| (id.as_str(), deps.iter())));
        (g, owned.into_iter().map(|(id, _)| id).collect())
    }

    fn named(ids: &[String], nodes: &[usize]) -> Vec<String> {
        nodes.iter().map(|&i| ids[i].clone()).collect()
    }

    #[test]
    fn finds_a_cycle_and_names_it() {
        let (g, ids) = graph(&[("a", &[]), ("b", &["a", "d"]), ("c", &["b"]), ("d", &["c"])]);
        assert_eq!(named(&ids, &g.find_cycle().unwrap()), ["b", "d", "c", "b"]);
        assert!(g.order().is_none());
    }

    #[test]
    fn a_diamond_is_not_a_cycle_and_orders_dependencies_first() {
        let (g, ids) = graph(&[("d", &["b", "c"]), ("a", &[]), ("b", &["a"]), ("c", &["a"])]);
        assert_eq!(g.find_cycle(), None);
        assert_eq!(named(&ids, &g.order().unwrap()), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_chain_of_a_hundred_thousand_in_reverse_order_needs_no_stack() {
        let n = 100_000;
        let owned: Vec<(String, Vec<String>)> = (0..n)
            .rev()
            .map(|i| (format!("s{i}"), if i > 0 { vec![format!("s{}", i - 1)] } else { vec![] }))
            .collect();
        let g = Graph::new(owned.iter().map(|(id, deps)| (id.as_str(), deps.iter())));
        assert_eq!(g.find_cycle(), None);
        let order = g.order().unwrap();
        assert_eq!(owned[order[0]].0, "s0");
        let kept = g.with_dependencies([0]);
        assert!(kept.iter().all(|&k| k));
        assert_eq!(g.groups().len(), 1);
    }

    #[test]
    fn unknown_dependencies_are_kept_for_validation_and_groups_follow_edges() {
        let (g, _) = graph(&[("a", &["ghost"]), ("b", &[]), ("c", &["b"])]);
        assert_eq!(g.unknown, vec![(0, "ghost".to_string())]);
        assert_eq!(g.groups(), vec![vec![0], vec![1, 2]]);
    }

    #[test]
    fn a_repeated_id_resolves_to_its_first_node_and_is_named() {
        let (g, _) = graph(&[("b", &[]), ("a", &[]), ("b", &[]), ("c", &["b", "a"]), ("b", &[])]);
        assert_eq!(g.duplicates, vec![(2, 0), (4, 0)]);
        assert_eq!(g.dependencies(3), [0, 1]);
        assert_eq!(g.dependents(0), [3]);
        assert_eq!(g.dependents(1), [3]);
        assert!(g.dependents(2).is_empty() && g.dependents(4).is_empty());
    }
}
