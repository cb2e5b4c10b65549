//! Deadlines: the retransmission timer (and the probe of a shut window), keep-alives, the
//! idle limit, the wait for `accept`, the linger after our FIN.

use super::{Conn, State, LINGER};
use crate::event::CloseReason;
use crate::send::Kind;
use std::time::Instant;

impl Conn {
    /// The next instant `on_timeout` has something to do.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::SynRecv => Some(self.created + self.cfg.accept_timeout),
            State::SynSent => self.rto_deadline,
            State::Connected => {
                let mut d = self.last_recv + self.cfg.idle_timeout;
                d = d.min(self.last_sent + self.cfg.keepalive_interval);
                if let Some(r) = self.rto_deadline {
                    d = d.min(r);
                }
                if let Some(at) = self.fin_acked_at {
                    d = d.min(at + LINGER);
                }
                Some(d)
            }
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        match self.state {
            State::Closed => return,
            State::SynRecv => {
                if now >= self.created + self.cfg.accept_timeout {
                    self.pending_reset = true;
                    self.finish(CloseReason::NotAccepted, true);
                }
                return;
            }
            State::SynSent | State::Connected => {}
        }
        if now >= self.last_recv + self.cfg.idle_timeout && self.state == State::Connected {
            return self.finish(CloseReason::TimedOut, true);
        }
        if self.rto_deadline.is_some_and(|d| now >= d) {
            self.on_rto(now);
        }
        self.check_finished(now);
    }

    /// The retransmission timer fired.
    fn on_rto(&mut self, now: Instant) {
        self.rto_deadline = None;
        let Some(front) = self.send.front() else {
            return;
        };
        let (kind, seq, probe, waiting) = (front.kind, front.seq, front.probe, front.need_resend);
        if self.send.in_window() == 0 && waiting && kind != Kind::Syn {
            // Nothing in flight, held back by the peer's shut window: probe it.
            self.zero_window_probe = true;
            return;
        }
        self.timeouts += 1;
        self.timeouts_in_row += 1;
        let limit = if kind == Kind::Syn {
            self.cfg.syn_retries
        } else {
            self.cfg.max_timeouts
        };
        if self.timeouts_in_row > limit {
            return self.finish(CloseReason::TimedOut, true);
        }
        if probe && self.mtu.lost(seq) {
            // Only the MTU probe is missing: too big, not congestion.
            self.send.mark_lost(0);
        } else {
            self.cc
                .on_timeout(self.send.next_seq(), self.cfg.slow_start);
            self.send.mark_all_lost();
            self.rtt.back_off();
        }
        self.rto_deadline = Some(now + self.rtt.rto());
    }
}
