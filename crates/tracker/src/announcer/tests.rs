use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn reply(interval: u64, min: Option<u64>) -> AnnounceReply {
    AnnounceReply {
        interval: Some(secs(interval)),
        min_interval: min.map(secs),
        ..AnnounceReply::default()
    }
}

fn tiers(t: &[&[&str]]) -> Vec<Vec<String>> {
    t.iter()
        .map(|tier| tier.iter().map(|s| s.to_string()).collect())
        .collect()
}

#[test]
fn first_announce_is_started_and_due_at_once() {
    let now = Instant::now();
    let mut a = Announcer::new(
        AnnouncerConfig::default(),
        tiers(&[&["a"]]),
        &mut Rng::new(1),
        now,
    );
    assert_eq!(a.next_wakeup(), Some(now));
    let due = a.poll(now).unwrap();
    assert_eq!(
        due,
        Due {
            url: "a".into(),
            event: Event::Started,
            last_resort: true,
        }
    );
    // Nothing else while it is in flight.
    assert_eq!(a.poll(now), None);
    assert_eq!(a.next_wakeup(), None);
    a.on_success(now, &reply(1800, None), false);
    assert_eq!(a.next_wakeup(), Some(now + secs(1800)));
    assert_eq!(a.poll(now + secs(1799)), None);
    let due = a.poll(now + secs(1800)).unwrap();
    assert_eq!(due.event, Event::None);
}

#[test]
fn intervals_are_honoured_and_bounded() {
    let now = Instant::now();
    let config = AnnouncerConfig::default();
    let mut a = Announcer::new(config, tiers(&[&["a"]]), &mut Rng::new(1), now);
    a.poll(now).unwrap();
    // Starving: sooner than the interval, but never before `min interval`.
    a.on_success(now, &reply(1800, Some(300)), true);
    assert_eq!(a.next_wakeup(), Some(now + secs(300)));
    a.poll(now + secs(300)).unwrap();
    a.on_success(now, &reply(1800, None), true);
    assert_eq!(a.next_wakeup(), Some(now + config.starving_interval));
    // A tracker asking for interval 0 still gets the floor.
    a.poll(now + config.starving_interval).unwrap();
    a.on_success(now, &reply(0, None), false);
    assert_eq!(a.next_wakeup(), Some(now + config.floor));
    a.poll(now + config.floor).unwrap();
    a.on_success(now, &reply(u32::MAX as u64, None), false);
    assert_eq!(a.next_wakeup(), Some(now + config.ceiling));
}

#[test]
fn tiers_are_tried_in_order_and_the_answering_tracker_moves_first() {
    let now = Instant::now();
    let t = tiers(&[&["a1", "a2", "a3"], &["b1"]]);
    let mut a = Announcer::new(AnnouncerConfig::default(), t, &mut Rng::new(7), now);
    let first_tier: Vec<String> = a.urls().take(3).map(String::from).collect();
    let mut tried = Vec::new();
    for _ in 0..3 {
        let due = a.poll(now).unwrap();
        assert!(
            !due.last_resort,
            "b1 is still to be tried after {}",
            due.url
        );
        tried.push(due.url);
        a.on_failure(now);
    }
    assert_eq!(tried, first_tier, "the first tier in its shuffled order");
    let due = a.poll(now).unwrap();
    assert_eq!(due.url, "b1");
    assert!(due.last_resort, "nothing is left after the last tier");
    a.on_failure(now);
    // Every tracker failed: the round starts over after a back-off.
    let retry = AnnouncerConfig::default().retry_base;
    assert_eq!(a.next_wakeup(), Some(now + retry));
    let later = now + retry;
    assert_eq!(a.poll(later).unwrap().url, first_tier[0]);
    a.on_failure(later);
    assert_eq!(a.poll(later).unwrap().url, first_tier[1]);
    a.on_success(later, &reply(60, None), false);
    let order: Vec<&str> = a.urls().collect();
    assert_eq!(
        order,
        vec![
            first_tier[1].as_str(),
            first_tier[0].as_str(),
            first_tier[2].as_str(),
            "b1"
        ]
    );
    // The next round starts with the one that answered, and its event is a plain announce.
    let due = a.poll(later + secs(60)).unwrap();
    assert_eq!(
        due,
        Due {
            url: first_tier[1].clone(),
            event: Event::None,
            last_resort: false,
        }
    );
}

#[test]
fn failed_rounds_back_off_exponentially_up_to_the_maximum() {
    let now = Instant::now();
    let config = AnnouncerConfig::default();
    let mut a = Announcer::new(config, tiers(&[&["a"]]), &mut Rng::new(1), now);
    let mut t = now;
    let mut waits = Vec::new();
    for _ in 0..8 {
        a.poll(t).unwrap();
        a.on_failure(t);
        let next = a.next_wakeup().unwrap();
        waits.push((next - t).as_secs());
        t = next;
    }
    assert_eq!(waits, vec![30, 60, 120, 240, 480, 960, 1800, 1800]);
    // An answer resets the back-off.
    a.poll(t).unwrap();
    a.on_success(t, &reply(100, None), false);
    a.poll(t + secs(100)).unwrap();
    a.on_failure(t + secs(100));
    assert_eq!(a.next_wakeup(), Some(t + secs(130)));
}

#[test]
fn completed_and_stopped_go_to_the_trackers_that_know_us() {
    let now = Instant::now();
    let mut a = Announcer::new(
        AnnouncerConfig::default(),
        tiers(&[&["a"], &["b"]]),
        &mut Rng::new(1),
        now,
    );
    assert_eq!(a.poll(now).unwrap().url, "a");
    a.on_failure(now);
    assert_eq!(
        a.poll(now).unwrap(),
        Due {
            url: "b".into(),
            event: Event::Started,
            last_resort: true,
        }
    );
    a.on_success(now, &reply(1800, None), false);
    // Completion bypasses the interval.
    let t = now + secs(5);
    a.completed(t);
    assert_eq!(a.next_wakeup(), Some(t));
    // Round starts at tier 1 again: `a` was never started, so it gets `started`.
    assert_eq!(
        a.poll(t).unwrap(),
        Due {
            url: "a".into(),
            event: Event::Started,
            last_resort: false,
        }
    );
    a.on_failure(t);
    assert_eq!(
        a.poll(t).unwrap(),
        Due {
            url: "b".into(),
            event: Event::Completed,
            last_resort: true,
        }
    );
    a.on_success(t, &reply(1800, None), false);
    a.completed(t);
    assert_eq!(a.next_wakeup(), Some(t + secs(1800)));
    assert_eq!(
        a.stopped(),
        vec![Due {
            url: "b".into(),
            event: Event::Stopped,
            last_resort: false,
        }]
    );
    assert_eq!(a.next_wakeup(), None);
    assert_eq!(a.poll(t + secs(4000)), None);
}

#[test]
fn no_trackers_means_nothing_to_do() {
    let now = Instant::now();
    let mut a = Announcer::new(
        AnnouncerConfig::default(),
        tiers(&[&[], &["x", "x"]]),
        &mut Rng::new(1),
        now,
    );
    assert_eq!(a.urls().count(), 1, "repeats are dropped");
    let mut empty = Announcer::new(
        AnnouncerConfig::default(),
        Vec::new(),
        &mut Rng::new(1),
        now,
    );
    assert_eq!(empty.poll(now), None);
    assert_eq!(empty.next_wakeup(), None);
    assert!(empty.stopped().is_empty());
    // Completed just before the stop: `completed` still goes out, then `stopped`.
    a.poll(now).unwrap();
    a.on_success(now, &reply(60, None), false);
    a.completed(now);
    let events: Vec<Event> = a.stopped().into_iter().map(|d| d.event).collect();
    assert_eq!(events, vec![Event::Completed, Event::Stopped]);
    assert_eq!(a.poll(now), None);
}
