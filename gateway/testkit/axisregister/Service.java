// Service as WSDL2Java maps the register WSDL's type: URI is xsd:anyURI,
// Version xsd:integer (a BigInteger).
public class Service implements java.io.Serializable {
    private String guid, name, status, type;
    private org.apache.axis.types.URI uri;
    private java.math.BigInteger version;
    public String getGuid() { return guid; } public void setGuid(String v) { guid = v; }
    public String getName() { return name; } public void setName(String v) { name = v; }
    public org.apache.axis.types.URI getURI() { return uri; } public void setURI(org.apache.axis.types.URI v) { uri = v; }
    public String getStatus() { return status; } public void setStatus(String v) { status = v; }
    public String getType() { return type; } public void setType(String v) { type = v; }
    public java.math.BigInteger getVersion() { return version; } public void setVersion(java.math.BigInteger v) { version = v; }
    private static final org.apache.axis.description.TypeDesc typeDesc = Desc.of(Service.class, "Service", new String[][]{
        {"guid", "Guid", "string"}, {"name", "Name", "string"}, {"URI", "URI", "anyURI"}, {"status", "Status", "string"}, {"type", "Type", "string"}, {"version", "Version", "integer"}});
    public static org.apache.axis.description.TypeDesc getTypeDesc() { return typeDesc; }
}
