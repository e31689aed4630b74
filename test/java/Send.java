import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import zipkin2.Span;
import zipkin2.codec.SpanBytesDecoder;
import zipkin2.reporter.AsyncReporter;
import zipkin2.reporter.BytesMessageSender;
import zipkin2.reporter.Encoding;
import zipkin2.reporter.InMemoryReporterMetrics;
import zipkin2.reporter.SpanBytesEncoder;
import zipkin2.reporter.urlconnection.URLConnectionSender;

/**
 * Sends spans with Zipkin's own Java reporter (AsyncReporter + URLConnectionSender, gzip on), for the
 * tests of spanline's zipkin receiver.
 *
 * <pre>java -cp 'lib/*:classes' Send URL ENCODING SPANS_JSON</pre>
 *
 * ENCODING is JSON_V2, PROTO3 or THRIFT (v1 Thrift: URL must be the /api/v1/spans route). SPANS_JSON is
 * a Zipkin v2 JSON list; its spans are read into zipkin2.Span objects by Zipkin's own JSON decoder.
 *
 * On success, prints to stdout the spans as Zipkin's own decoder reads the message that was sent (a
 * JSON v2 list): what a Zipkin server would store. Exits 1 when the reporter dropped the message (the
 * reason is logged on stderr by the reporter), 2 on bad arguments.
 */
public final class Send {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: Send URL JSON_V2|PROTO3|THRIFT SPANS_JSON");
      System.exit(2);
    }
    String url = args[0];
    SpanBytesEncoder encoder = SpanBytesEncoder.valueOf(args[1]);
    List<Span> spans = SpanBytesDecoder.JSON_V2.decodeList(Files.readAllBytes(Paths.get(args[2])));

    InMemoryReporterMetrics metrics = new InMemoryReporterMetrics();
    URLConnectionSender sender =
        URLConnectionSender.newBuilder().endpoint(url).encoding(encoder.encoding()).build();
    // No background flushing: one flush() sends every span in one message, on this thread.
    AsyncReporter<Span> reporter =
        AsyncReporter.builder((BytesMessageSender) sender).metrics(metrics).messageTimeout(0, TimeUnit.MILLISECONDS).build(encoder);
    for (Span span : spans) reporter.report(span);
    reporter.flush();
    reporter.close();
    sender.close();

    if (metrics.messagesDropped() > 0 || metrics.spans() != spans.size() || metrics.messages() != 1) {
      System.err.printf(
          "reporter sent %d of %d spans in %d messages; dropped %d messages (%s)%n",
          metrics.spans() - metrics.spansDropped(), spans.size(), metrics.messages(),
          metrics.messagesDropped(), metrics.messagesDroppedByCause());
      System.exit(1);
    }

    // The message the sender posted, rebuilt the way the reporter builds it, read back by Zipkin.
    List<byte[]> encoded = new ArrayList<>();
    for (Span span : spans) encoded.add(encoder.encode(span));
    byte[] message = encoder.encoding().encode(encoded);
    List<Span> stored = decoderFor(encoder.encoding()).decodeList(message);
    System.out.println(new String(zipkin2.codec.SpanBytesEncoder.JSON_V2.encodeList(stored), StandardCharsets.UTF_8));
  }

  static SpanBytesDecoder decoderFor(Encoding encoding) {
    switch (encoding) {
      case PROTO3:
        return SpanBytesDecoder.PROTO3;
      case THRIFT:
        return SpanBytesDecoder.THRIFT;
      default:
        return SpanBytesDecoder.JSON_V2;
    }
  }
}
