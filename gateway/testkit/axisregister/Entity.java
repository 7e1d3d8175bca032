// Entity as WSDL2Java maps the register WSDL's type; LastChange is a Calendar.
public class Entity implements java.io.Serializable {
    private String entityIdentifier, guid, parentGuid, administrativeBodyName, certificateSN, status;
    private Contact contact; private Service[] services; private java.util.Calendar lastChange;
    public String getEntityIdentifier() { return entityIdentifier; } public void setEntityIdentifier(String v) { entityIdentifier = v; }
    public String getGuid() { return guid; } public void setGuid(String v) { guid = v; }
    public String getParentGuid() { return parentGuid; } public void setParentGuid(String v) { parentGuid = v; }
    public String getAdministrativeBodyName() { return administrativeBodyName; } public void setAdministrativeBodyName(String v) { administrativeBodyName = v; }
    public Contact getContact() { return contact; } public void setContact(Contact v) { contact = v; }
    public String getCertificateSN() { return certificateSN; } public void setCertificateSN(String v) { certificateSN = v; }
    public Service[] getServices() { return services; } public void setServices(Service[] v) { services = v; }
    public java.util.Calendar getLastChange() { return lastChange; } public void setLastChange(java.util.Calendar v) { lastChange = v; }
    public String getStatus() { return status; } public void setStatus(String v) { status = v; }
    private static final org.apache.axis.description.TypeDesc typeDesc = Desc.of(Entity.class, "Entity", new String[][]{
        {"entityIdentifier", "EntityIdentifier", "string"}, {"guid", "Guid", "string"}, {"parentGuid", "ParentGuid", "string"},
        {"administrativeBodyName", "AdministrativeBodyName", "string"}, {"contact", "Contact", "tns:Contact"}, {"certificateSN", "CertificateSN", "string"},
        {"services", "Services", "tns:Services"}, {"lastChange", "LastChange", "dateTime"}, {"status", "Status", "string"}});
    public static org.apache.axis.description.TypeDesc getTypeDesc() { return typeDesc; }
}
