// A participant register as a Java shop would run it: Apache Axis 1.4 serving
// EgovRegistry.wsdl rpc/encoded (server-config.wsdd), with the beans WSDL2Java
// makes from the WSDL's types. It serves the participants of a data file
// (EGOVREGISTRY_DATA) that tests write and may rewrite between calls, in the
// format gateway/testkit/registers.go writes (see asmxregister/EgovRegistry.cs):
// an empty column is null; an empty LastChange is null (Java has no unset
// DateTime); null-when-empty makes an answer without participants `return null`.
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.GregorianCalendar;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

public class EgovRegistry {
    public EGovMessageDir GetAllRecords() throws Exception {
        return answer(e -> true);
    }

    public EGovMessageDir GetNewRecords(Calendar date) throws Exception {
        return answer(e -> e.getLastChange() != null && e.getLastChange().after(date));
    }

    public EGovMessageDir GetByEntityIdentifier(String eik) throws Exception {
        return answer(e -> eik != null && eik.equals(e.getEntityIdentifier()));
    }

    public EGovMessageDir GetByGuid(String guid) throws Exception {
        return answer(e -> guid != null && guid.equalsIgnoreCase(e.getGuid()));
    }

    // The serial text the register stores, compared as a database would.
    public EGovMessageDir GetByCertificateSN(String serial) throws Exception {
        return answer(e -> serial != null && serial.equals(e.getCertificateSN()));
    }

    private EGovMessageDir answer(Predicate<Entity> which) throws Exception {
        Data d = Data.load();
        List<Entity> out = new ArrayList<>();
        for (Entity e : d.entities) {
            if (which.test(e)) out.add(e);
        }
        if (out.isEmpty() && d.nullWhenEmpty) return null;
        EGovMessageDir dir = new EGovMessageDir();
        dir.setEntities(out.toArray(new Entity[0]));
        dir.setLastChange(d.lastChange);
        return dir;
    }

    static class Data {
        List<Entity> entities = new ArrayList<>();
        boolean nullWhenEmpty;
        Calendar lastChange;

        static Data load() throws Exception {
            Data d = new Data();
            // One Contact object per distinct value: Axis writes it once, as a multiRef.
            Map<String, Contact> contacts = new HashMap<>();
            Entity last = null;
            List<Service> services = null;
            for (String line : Files.readAllLines(Paths.get(System.getenv("EGOVREGISTRY_DATA")), StandardCharsets.UTF_8)) {
                if (line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                switch (f[0]) {
                    case "option":
                        if (f[1].equals("null-when-empty")) d.nullWhenEmpty = f[2].equals("true");
                        if (f[1].equals("listing-last-change")) d.lastChange = time(f[2]);
                        break;
                    case "entity":
                        close(last, services);
                        String key = f[5] + "\t" + f[6] + "\t" + f[7];
                        Contact c = contacts.get(key);
                        if (c == null) {
                            c = new Contact();
                            c.setPhone(str(f[5]));
                            c.setFax(str(f[6]));
                            c.setEmailAddress(str(f[7]));
                            contacts.put(key, c);
                        }
                        last = new Entity();
                        last.setEntityIdentifier(str(f[1]));
                        last.setGuid(str(f[2]));
                        last.setParentGuid(str(f[3]));
                        last.setAdministrativeBodyName(str(f[4]));
                        last.setContact(c);
                        last.setCertificateSN(str(f[8]));
                        last.setLastChange(time(f[9]));
                        last.setStatus(str(f[10]));
                        services = f[11].equals("null") ? null : new ArrayList<>();
                        d.entities.add(last);
                        break;
                    case "service":
                        Service s = new Service();
                        s.setGuid(str(f[1]));
                        s.setName(str(f[2]));
                        s.setURI(f[3].isEmpty() ? null : new org.apache.axis.types.URI(f[3]));
                        s.setStatus(str(f[4]));
                        s.setType(str(f[5]));
                        s.setVersion(f[6].isEmpty() ? null : new BigInteger(f[6]));
                        services.add(s);
                        break;
                    default:
                        throw new IOException("data file: unknown line " + f[0]);
                }
            }
            close(last, services);
            return d;
        }

        static void close(Entity e, List<Service> services) {
            if (e != null && services != null) e.setServices(services.toArray(new Service[0]));
        }

        static String str(String s) {
            return s.isEmpty() ? null : s;
        }

        static Calendar time(String s) {
            if (s.isEmpty()) return null;
            return GregorianCalendar.from(OffsetDateTime.parse(s).toZonedDateTime());
        }
    }
}
