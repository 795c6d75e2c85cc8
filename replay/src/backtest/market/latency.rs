//! Time and ordering: the feed read ahead with its receive and venue times, what the venue
//! processes next (feed events and arriving requests by venue time) and what is delivered
//! next (by receive time).

use tickrail_engine::{Event, EventBody};
use tickrail_gateways::feed::FeedSource;

use super::{Delivery, HistoricalMarket, Peeked, VenueItem};

impl<F: FeedSource> HistoricalMarket<F> {
    /// Reads the next feed event to the back of `market_data` and sets `peeked`, if no
    /// event is read ahead yet.
    pub(super) fn fill_peek(&mut self) {
        if self.peeked.is_some() || self.feed_done {
            return;
        }
        let Some(event) = self.feed.next_event() else {
            self.feed_done = true;
            return;
        };
        self.stats.feed_events += 1;
        let exchange = event.header.exchange_ts_ns;
        let given = match self.params.feed_latency_ns {
            Some(l) if exchange > 0 => exchange.saturating_add(l),
            _ => event.header.receive_ts_ns,
        };
        let receive = given.max(self.last_feed_receive_ns);
        if receive != given {
            self.stats.receive_clamped += 1;
        }
        self.last_feed_receive_ns = receive;
        let venue = if exchange > 0 {
            exchange.min(receive)
        } else {
            receive
        };
        let venue_ns = venue.max(self.last_feed_venue_ns);
        self.last_feed_venue_ns = venue_ns;
        let listing = if event.header.source == self.params.venue {
            self.listing_of(event.header.instrument)
        } else {
            None
        };
        // Copied as read, the receive time written in place after: a whole-event copy of
        // a just-patched field would stall on store forwarding.
        self.market_data.push_back(event);
        if let Some(e) = self.market_data.back_mut() {
            e.header.receive_ts_ns = receive;
        }
        self.peeked = Some(Peeked { venue_ns, listing });
    }

    /// The next thing the venue processes: feed events and requests by venue time, the feed
    /// event first on a tie.
    pub(super) fn next_venue_item(&self) -> Option<(i64, VenueItem)> {
        let feed = self.peeked.as_ref().map(|p| p.venue_ns);
        let request = self.requests.front().map(|r| r.at_ns);
        match (feed, request) {
            (Some(f), Some(r)) if r < f => Some((r, VenueItem::Request)),
            (Some(f), _) => Some((f, VenueItem::Feed)),
            (None, Some(r)) => Some((r, VenueItem::Request)),
            (None, None) => None,
        }
    }

    /// The next thing delivered: by receive time, market data first on a tie.
    pub(super) fn next_delivery(&self) -> Option<(i64, Delivery)> {
        // The event read ahead (the back, while `peeked` is set) is not processed yet.
        let processed = (self.market_data.len()).saturating_sub(usize::from(self.peeked.is_some()));
        let md = (processed > 0)
            .then(|| self.market_data.front())
            .flatten()
            .map(|e| e.header.receive_ts_ns);
        let report = self.reports.front().map(|e| e.header.receive_ts_ns);
        match (md, report) {
            (Some(m), Some(r)) if r < m => Some((r, Delivery::Report)),
            (Some(m), _) => Some((m, Delivery::MarketData)),
            (None, Some(r)) => Some((r, Delivery::Report)),
            (None, None) => None,
        }
    }

    pub(super) fn process(&mut self, item: VenueItem) {
        match item {
            VenueItem::Feed => {
                // The event is already queued for delivery; it is applied from there.
                if let Some(p) = self.peeked.take() {
                    match p.listing {
                        Some(li) => self.on_market(li, p.venue_ns),
                        None => self.stats.foreign_events += 1,
                    }
                }
            }
            VenueItem::Request => {
                if let Some(p) = self.requests.pop_front() {
                    match p.request.body {
                        EventBody::OrderNew { .. } => self.new_order(p.at_ns, &p.request),
                        EventBody::OrderCancel { .. } => self.cancel(p.at_ns, &p.request),
                        EventBody::OrderAmend { .. } => self.amend(p.at_ns, &p.request),
                        _ => {}
                    }
                }
            }
        }
    }

    pub(super) fn deliver(&mut self, which: Delivery) -> Option<Event> {
        let event = match which {
            Delivery::MarketData => {
                self.stats.market_data += 1;
                self.market_data.pop_front()
            }
            Delivery::Report => {
                self.stats.reports += 1;
                self.reports.pop_front()
            }
        }?;
        self.clock_ns = self.clock_ns.max(event.header.receive_ts_ns);
        Some(event)
    }
}
