// Contact as Axis WSDL2Java writes the register WSDL's type: a bean whose
// TypeDesc names the XML members (Phone, Fax, EmailAddress).
public class Contact implements java.io.Serializable {
    private String phone, fax, emailAddress;
    public String getPhone() { return phone; } public void setPhone(String v) { phone = v; }
    public String getFax() { return fax; } public void setFax(String v) { fax = v; }
    public String getEmailAddress() { return emailAddress; } public void setEmailAddress(String v) { emailAddress = v; }
    private static final org.apache.axis.description.TypeDesc typeDesc = Desc.of(Contact.class, "Contact", new String[][]{
        {"phone", "Phone", "string"}, {"fax", "Fax", "string"}, {"emailAddress", "EmailAddress", "string"}});
    public static org.apache.axis.description.TypeDesc getTypeDesc() { return typeDesc; }
}
