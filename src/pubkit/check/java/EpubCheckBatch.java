// Validate many EPUBs in one JVM: EPUBCheck's command line checks one file per run, and Java
// start-up plus schema loading cost seconds per run. Run with Java's source launcher:
//   java -cp epubcheck.jar EpubCheckBatch.java [EPUBCheck options...] < jobs
// Each line of `jobs` is "book.epub<TAB>report.json"; the options (e.g. -u) apply to every book.
// A book that makes EPUBCheck throw gets no report; the caller notices.

import com.adobe.epubcheck.tool.EpubChecker;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

public class EpubCheckBatch {
    public static void main(String[] options) throws Exception {
        BufferedReader jobs = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = jobs.readLine()) != null) {
            String[] job = line.split("\t");
            if (job.length != 2) {
                continue;
            }
            List<String> args = new ArrayList<>(Arrays.asList(job[0], "--quiet", "--json", job[1]));
            args.addAll(Arrays.asList(options));
            try {
                new EpubChecker().run(args.toArray(new String[0]));
            } catch (Throwable error) {
                System.err.println(job[0] + ": " + error);
            }
        }
    }
}
