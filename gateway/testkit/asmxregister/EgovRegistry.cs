// A participant register as a .NET shop would write it: an ASMX web service
// implementing EgovRegistry.wsdl the way wsdl.exe /server lays it out —
// rpc/encoded ([SoapRpcService], [SoapRpcMethod]) in namespace uri:egovmsg,
// the result accessor named "return", the classes' members as the .NET
// register has them (Version a string, LastChange a DateTime). It serves the
// participants of a data file (EGOVREGISTRY_DATA) that tests write and may
// rewrite between calls; gateway/testkit/asmx.go documents the format.
//
// Switches in the data file give the shapes .NET registers are seen to send:
// `return null` for an answer with no participant (null-when-empty), an
// answer whose LastChange was never set (listing-last-change empty), a
// participant whose LastChange was never set (an empty LastChange column),
// and malformed data such as a null Guid (an empty Guid column).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Web.Services;
using System.Web.Services.Protocols;
using System.Xml.Serialization;

[SoapType(Namespace = "uri:egovmsg")]
public class Contact
{
    public string Phone;
    public string Fax;
    public string EmailAddress;
}

[SoapType(Namespace = "uri:egovmsg")]
public class Service
{
    public string Guid;
    public string Name;
    public string URI;
    public string Status;
    public string Type;
    public string Version;
}

[SoapType(Namespace = "uri:egovmsg")]
public class Entity
{
    public string EntityIdentifier;
    public string Guid;
    public string ParentGuid;
    public string AdministrativeBodyName;
    public Contact Contact;
    public string CertificateSN;
    public Service[] Services;
    public DateTime LastChange;
    public string Status;
}

[SoapType(Namespace = "uri:egovmsg")]
public class EGovMessageDir
{
    public Entity[] Entities;
    public DateTime LastChange;
}

[WebService(Namespace = "uri:egovmsg")]
[WebServiceBinding(Name = "EgovRegistryBinding", Namespace = "uri:egovmsg")]
[SoapRpcService]
public class EgovRegistry : WebService
{
    [WebMethod]
    [SoapRpcMethod("uri:egovmsg/GetAllRecords", RequestNamespace = "uri:egovmsg", ResponseNamespace = "uri:egovmsg")]
    [return: SoapElement("return")]
    public EGovMessageDir GetAllRecords()
    {
        var d = Data.Load();
        return d.Answer(d.Entities);
    }

    [WebMethod]
    [SoapRpcMethod("uri:egovmsg/GetNewRecords", RequestNamespace = "uri:egovmsg", ResponseNamespace = "uri:egovmsg")]
    [return: SoapElement("return")]
    public EGovMessageDir GetNewRecords(DateTime date)
    {
        var d = Data.Load();
        return d.Answer(d.Entities.FindAll(e => e.LastChange != DateTime.MinValue && e.LastChange.ToUniversalTime() > date.ToUniversalTime()));
    }

    [WebMethod]
    [SoapRpcMethod("uri:egovmsg/GetByEntityIdentifier", RequestNamespace = "uri:egovmsg", ResponseNamespace = "uri:egovmsg")]
    [return: SoapElement("return")]
    public EGovMessageDir GetByEntityIdentifier(string EntityIdentifier)
    {
        var d = Data.Load();
        return d.Answer(d.Entities.FindAll(e => e.EntityIdentifier == EntityIdentifier));
    }

    [WebMethod]
    [SoapRpcMethod("uri:egovmsg/GetByGuid", RequestNamespace = "uri:egovmsg", ResponseNamespace = "uri:egovmsg")]
    [return: SoapElement("return")]
    public EGovMessageDir GetByGuid(string guid)
    {
        var d = Data.Load();
        return d.Answer(d.Entities.FindAll(e => string.Equals(e.Guid, guid, StringComparison.OrdinalIgnoreCase)));
    }

    // The register compares the serial text it stores, as a database query
    // would: a serial written in another notation finds nothing.
    [WebMethod]
    [SoapRpcMethod("uri:egovmsg/GetByCertificateSN", RequestNamespace = "uri:egovmsg", ResponseNamespace = "uri:egovmsg")]
    [return: SoapElement("return")]
    public EGovMessageDir GetByCertificateSN(string CertificateSN)
    {
        var d = Data.Load();
        return d.Answer(d.Entities.FindAll(e => e.CertificateSN == CertificateSN));
    }
}

// Data is one reading of the data file: tab-separated lines,
//   option <name> <value>
//   entity <EIK> <Guid> <ParentGuid> <Name> <Phone> <Fax> <Email> <CertificateSN> <LastChange> <Status> <list|null>
//   service <Guid> <Name> <URI> <Status> <Type> <Version>   (of the entity above)
// An empty column is a null string (an unset DateTime for LastChange).
class Data
{
    public List<Entity> Entities = new List<Entity>();
    public bool NullWhenEmpty;
    public bool ListingLastChangeSet;
    public DateTime ListingLastChange;

    public static Data Load()
    {
        var path = Environment.GetEnvironmentVariable("EGOVREGISTRY_DATA");
        var d = new Data();
        // One Contact object per distinct value, as register code that reuses
        // objects has: the serializer then writes it once, as a multi-ref.
        var contacts = new Dictionary<string, Contact>();
        Entity last = null;
        var services = new List<Service>();
        foreach (var line in File.ReadAllLines(path, Encoding.UTF8))
        {
            if (line.Length == 0) continue;
            var f = line.Split('\t');
            switch (f[0])
            {
                case "option":
                    if (f[1] == "null-when-empty") d.NullWhenEmpty = f[2] == "true";
                    if (f[1] == "listing-last-change")
                    {
                        d.ListingLastChangeSet = f[2] != "";
                        if (d.ListingLastChangeSet) d.ListingLastChange = Time(f[2]);
                    }
                    break;
                case "entity":
                    Close(last, services);
                    var key = f[5] + "\t" + f[6] + "\t" + f[7];
                    Contact c;
                    if (!contacts.TryGetValue(key, out c))
                    {
                        c = new Contact { Phone = Str(f[5]), Fax = Str(f[6]), EmailAddress = Str(f[7]) };
                        contacts[key] = c;
                    }
                    last = new Entity
                    {
                        EntityIdentifier = Str(f[1]), Guid = Str(f[2]), ParentGuid = Str(f[3]), AdministrativeBodyName = Str(f[4]),
                        Contact = c, CertificateSN = Str(f[8]), Status = Str(f[10]),
                        Services = f[11] == "null" ? null : new Service[0],
                    };
                    if (f[9] != "") last.LastChange = Time(f[9]);
                    d.Entities.Add(last);
                    services = new List<Service>();
                    break;
                case "service":
                    services.Add(new Service { Guid = Str(f[1]), Name = Str(f[2]), URI = Str(f[3]), Status = Str(f[4]), Type = Str(f[5]), Version = Str(f[6]) });
                    break;
                default:
                    throw new InvalidDataException("data file: unknown line " + f[0]);
            }
        }
        Close(last, services);
        return d;
    }

    static void Close(Entity e, List<Service> services)
    {
        if (e != null && e.Services != null) e.Services = services.ToArray();
    }

    static string Str(string s) { return s == "" ? null : s; }

    // Times are kept as the register's local time (DateTimeKind.Local), as a
    // DateTime read from a database is; the serializer adds the offset.
    static DateTime Time(string s)
    {
        return DateTimeOffset.Parse(s, CultureInfo.InvariantCulture).LocalDateTime;
    }

    public EGovMessageDir Answer(List<Entity> es)
    {
        if (es.Count == 0 && NullWhenEmpty) return null;
        var dir = new EGovMessageDir { Entities = es.ToArray() };
        if (ListingLastChangeSet) dir.LastChange = ListingLastChange;
        return dir;
    }
}
