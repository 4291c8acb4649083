// The peer for marsad's rule matching: Apache Lucene Monitor (a stored-query "percolator") with
// Lucene's ArabicAnalyzer, matching the same articles against the same rules, on one thread.
//
//   java -cp '.cache/lucene-jars/*' benchmarks/lucene/LucenePeer.java ARTICLES RULES [REPEATS]
//
// ARTICLES: one article a line, "title<TAB>body" (tabs and line breaks already turned to spaces).
// RULES: one rule a line, "id<TAB>term|term|...<TAB>none|none|...<TAB>term~near|..."; a term is
// one or more words. A rule fires when any term occurs in the title or body and no "none" term
// does; "term~near" needs the near word within 5 positions (a sloppy phrase: Lucene's nearest
// equivalent of marsad's proximity condition). Prints one line, BENCHMARK-RESULT and a JSON object.
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.Term;
import org.apache.lucene.monitor.MatchingQueries;
import org.apache.lucene.monitor.Monitor;
import org.apache.lucene.monitor.MonitorQuery;
import org.apache.lucene.monitor.QueryMatch;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;

public class LucenePeer {
  static final String[] FIELDS = {"title", "body"};

  static List<String> analyze(Analyzer analyzer, String text) throws IOException {
    List<String> terms = new ArrayList<>();
    try (TokenStream stream = analyzer.tokenStream("body", text)) {
      CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
      stream.reset();
      while (stream.incrementToken()) terms.add(term.toString());
      stream.end();
    }
    return terms;
  }

  static Query words(String field, List<String> terms, int slop) {
    if (terms.size() == 1) return new TermQuery(new Term(field, terms.get(0)));
    PhraseQuery.Builder phrase = new PhraseQuery.Builder();
    for (String t : terms) phrase.add(new Term(field, t));
    phrase.setSlop(slop);
    return phrase.build();
  }

  /** A term in either field; null when the analyzer drops all its words (stop words). */
  static Query term(Analyzer analyzer, String text) throws IOException {
    String[] parts = text.split("~", 2);
    List<String> terms = analyze(analyzer, parts[0]);
    int slop = 0;
    if (parts.length == 2) {
      terms.addAll(analyze(analyzer, parts[1]));
      slop = 5 + 2; // within 5 words, either order (a transposition costs 2 in a sloppy phrase)
    }
    if (terms.isEmpty()) return null;
    BooleanQuery.Builder either = new BooleanQuery.Builder();
    for (String field : FIELDS) either.add(words(field, terms, slop), BooleanClause.Occur.SHOULD);
    return either.build();
  }

  public static void main(String[] args) throws Exception {
    List<String> articleLines = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
    List<String> ruleLines = Files.readAllLines(Path.of(args[1]), StandardCharsets.UTF_8);
    int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    Analyzer analyzer = new ArabicAnalyzer();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    long compileStart = threads.getCurrentThreadCpuTime();
    List<MonitorQuery> queries = new ArrayList<>();
    for (String line : ruleLines) {
      String[] cols = line.split("\t", -1);
      BooleanQuery.Builder rule = new BooleanQuery.Builder();
      int positives = 0;
      for (String text : cols[1].split("\\|")) {
        Query q = term(analyzer, text);
        if (q != null) { rule.add(q, BooleanClause.Occur.SHOULD); positives++; }
      }
      if (cols.length > 2 && !cols[2].isEmpty()) {
        for (String text : cols[2].split("\\|")) {
          Query q = term(analyzer, text);
          if (q != null) rule.add(q, BooleanClause.Occur.MUST_NOT);
        }
      }
      if (positives == 0) continue;
      rule.setMinimumNumberShouldMatch(1);
      queries.add(new MonitorQuery(cols[0], rule.build()));
    }
    Monitor monitor = new Monitor(analyzer);
    // In batches: one commit of 10,000 queries builds all their index documents at once (OOM at 1 GB).
    for (int from = 0; from < queries.size(); from += 500) {
      monitor.register(queries.subList(from, Math.min(queries.size(), from + 500)));
    }
    double compileSeconds = (threads.getCurrentThreadCpuTime() - compileStart) / 1e9;

    List<Document> docs = new ArrayList<>();
    for (String line : articleLines) {
      String[] cols = line.split("\t", 2);
      Document doc = new Document();
      doc.add(new TextField("title", cols[0], Field.Store.NO));
      doc.add(new TextField("body", cols.length > 1 ? cols[1] : "", Field.Store.NO));
      docs.add(doc);
    }
    long matches = 0;
    for (Document doc : docs) matches += monitor.match(doc, QueryMatch.SIMPLE_MATCHER).getMatchCount(); // JIT warm-up
    double best = Double.MAX_VALUE;
    for (int r = 0; r < repeats; r++) {
      long start = threads.getCurrentThreadCpuTime();
      matches = 0;
      for (Document doc : docs) {
        MatchingQueries<QueryMatch> found = monitor.match(doc, QueryMatch.SIMPLE_MATCHER);
        matches += found.getMatchCount();
      }
      best = Math.min(best, (threads.getCurrentThreadCpuTime() - start) / 1e9);
    }
    monitor.close();
    System.out.printf(java.util.Locale.ROOT,
        "BENCHMARK-RESULT {\"rules\": %d, \"articles\": %d, \"compile_s\": %.3f, \"ms_per_article\": %.4f, \"matches_per_article\": %.3f, \"peak_heap_mb\": %.1f}%n",
        queries.size(), docs.size(), compileSeconds, best / docs.size() * 1000, (double) matches / docs.size(),
        (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / 1e6);
    System.out.flush();
    // Monitor's cache-purge thread is not a daemon and outlives close(): leave without it.
    System.exit(0);
  }
}
