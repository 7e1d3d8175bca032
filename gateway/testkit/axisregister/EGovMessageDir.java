// EGovMessageDir as WSDL2Java maps the register WSDL's type.
public class EGovMessageDir implements java.io.Serializable {
    private Entity[] entities; private java.util.Calendar lastChange;
    public Entity[] getEntities() { return entities; } public void setEntities(Entity[] v) { entities = v; }
    public java.util.Calendar getLastChange() { return lastChange; } public void setLastChange(java.util.Calendar v) { lastChange = v; }
    private static final org.apache.axis.description.TypeDesc typeDesc = Desc.of(EGovMessageDir.class, "EGovMessageDir", new String[][]{
        {"entities", "Entities", "tns:Entities"}, {"lastChange", "LastChange", "dateTime"}});
    public static org.apache.axis.description.TypeDesc getTypeDesc() { return typeDesc; }
}
