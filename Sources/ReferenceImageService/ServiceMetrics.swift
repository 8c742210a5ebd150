import NIOConcurrencyHelpers
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no process-wide `MetricsSystem`
/// bootstrap, so two services in one process, or a caller's own metrics, never collide).
///
/// Names: `klingkit_serve_requests_total{route,status}`, `klingkit_serve_verdicts_total{rule}` (one per
/// broken rule of every checked image; `rule="valid"` for an image breaking none),
/// `klingkit_serve_decode_duration_seconds` and `klingkit_serve_prepare_duration_seconds` (histograms),
/// `klingkit_serve_queue_depth`, `klingkit_serve_decodes_running` and `klingkit_serve_buffered_body_bytes`
/// (gauges),
/// `klingkit_serve_bytes_in_total` and `klingkit_serve_bytes_out_total` (counters).
public final class ReferenceImageServiceMetrics: Sendable {
    /// The registry `/metrics` renders; a caller may register its own metrics in it.
    public let registry: PrometheusCollectorRegistry
    private let queueDepth: Gauge
    private let running: Gauge
    private let bufferedBodies: Gauge
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let decodeDuration: DurationHistogram
    private let prepareDuration: DurationHistogram

    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        queueDepth = registry.makeGauge(descriptor: Self.name("queue", unit: "depth", help: "Requests waiting for a decode slot."))
        running = registry.makeGauge(descriptor: Self.name("decodes", unit: "running", help: "Image jobs running on the decode pool."))
        bufferedBodies = registry.makeGauge(descriptor: Self.name("buffered_body", unit: "bytes",
                                                                help: "Request-body bytes held in memory by all requests."))
        bytesIn = registry.makeCounter(descriptor: Self.name("bytes_in", unit: "total", help: "Request body bytes read."))
        bytesOut = registry.makeCounter(descriptor: Self.name("bytes_out", unit: "total", help: "Response body bytes written."))
        decodeDuration = registry.makeDurationHistogram(
            descriptor: Self.name("decode_duration", unit: "seconds", help: "Time to check one image (header, rules, full decode)."),
            buckets: Self.durationBuckets)
        prepareDuration = registry.makeDurationHistogram(
            descriptor: Self.name("prepare_duration", unit: "seconds", help: "Time to prepare one image (decode, fix, encode)."),
            buckets: Self.durationBuckets)
        // Present from the start, so a scrape before the first request shows them.
        queueDepth.set(to: 0)
        running.set(to: 0)
        bufferedBodies.set(to: 0)
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "klingkit", subsystem: "serve", metricName: metric, unitName: unit, helpText: help)
    }

    /// One answered request; `route` is the matched route pattern (`/v1/check`) or `unmatched`.
    func request(route: String, status: Int) {
        registry.makeCounter(descriptor: Self.name("requests", unit: "total", help: "Requests answered, by route and status."),
                             labels: [("route", route), ("status", String(status))]).increment()
    }

    /// The verdict of one checked image: each broken rule once, or `valid`.
    func verdict(rules: [String]) {
        let descriptor = Self.name("verdicts", unit: "total", help: "Checked images by broken rule (valid: none broken).")
        for rule in rules.isEmpty ? ["valid"] : Array(Set(rules)) {
            registry.makeCounter(descriptor: descriptor, labels: [("rule", rule)]).increment()
        }
    }

    func decoded(in duration: Duration) { decodeDuration.record(duration) }
    func prepared(in duration: Duration) { prepareDuration.record(duration) }
    func read(bytes: Int) { if bytes > 0 { bytesIn.increment(by: Int64(bytes)) } }
    func wrote(bytes: Int) { if bytes > 0 { bytesOut.increment(by: Int64(bytes)) } }
    func depth(queued: Int, running jobs: Int) {
        queueDepth.set(to: Double(queued))
        running.set(to: Double(jobs))
    }

    func buffered(bytes: Int) { bufferedBodies.set(to: Double(bytes)) }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
