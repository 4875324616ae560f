//! Carrying out a plan: directories and links in walk order, files
//! several at a time, then the directories' own attributes.

use std::sync::Arc;

use anyhow::anyhow;
use tokio::task::JoinSet;

use super::item::{DirAt, Kind, Place};
use super::transfer::FileJob;
use super::Copier;

impl Copier<'_> {
    pub(super) async fn execute(&mut self) -> anyhow::Result<()> {
        self.count_children();
        self.start_bar();
        let items = std::mem::take(&mut self.items);
        let mut dirs: Vec<Option<DirAt>> = vec![None; items.len()];
        let mut made: Vec<(usize, DirAt, bool)> = Vec::new();
        let mut set: JoinSet<anyhow::Result<()>> = JoinSet::new();
        for (i, it) in items.iter().enumerate() {
            let dest = match (it.parent, &it.top) {
                (None, Some(top)) => top.clone(),
                (Some(p), _) => match dirs.get(p).and_then(Option::as_ref) {
                    Some(d) => d.child(&it.name),
                    // Its directory could not be made: already reported.
                    None => continue,
                },
                (None, None) => continue,
            };
            match &it.kind {
                Kind::Dir => match self.make_dir(it, &dest).await {
                    Ok((at, created)) => {
                        dirs[i] = Some(at.clone());
                        made.push((i, at, created));
                    }
                    Err(e) => self.fail(&e),
                },
                Kind::Link(t) => {
                    if let Err(e) = self.make_link(it, &dest, t).await {
                        self.fail(&e);
                    }
                }
                Kind::Special(what) => {
                    let e = anyhow!("{}: a {what} is not copied", it.shown);
                    self.fail(&e);
                }
                Kind::File => {
                    let job = FileJob {
                        src: it.src.clone(),
                        src_shown: it.shown.clone(),
                        dest,
                        meta: it.meta,
                        opts: self.opts,
                        bar: self.bar.clone(),
                        done: Arc::clone(&self.done_files),
                        files: self.files,
                    };
                    if matches!(job.dest.place, Place::Stdout) {
                        // In order, and a reader that left ends the copy.
                        if let Err(e) = job.run().await {
                            if is_broken_pipe(&e) {
                                return Err(e);
                            }
                            self.fail(&e);
                        }
                        continue;
                    }
                    while set.len() >= self.opts.jobs {
                        self.reap(&mut set).await;
                    }
                    set.spawn(job.run());
                }
            }
        }
        while !set.is_empty() {
            self.reap(&mut set).await;
        }
        for (i, at, created) in made.into_iter().rev() {
            if let Some(it) = items.get(i) {
                if let Err(e) = self.finish_dir(it, &at, created).await {
                    self.fail(&e);
                }
            }
        }
        self.bar.finish_and_clear();
        self.summarise();
        Ok(())
    }

    async fn reap(&mut self, set: &mut JoinSet<anyhow::Result<()>>) {
        match set.join_next().await {
            Some(Ok(Ok(()))) | None => {}
            Some(Ok(Err(e))) => self.fail(&e),
            Some(Err(e)) => self.fail(&anyhow!("a copy task failed: {e}")),
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
